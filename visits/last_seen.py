"""R5 and R6 for every child on a case, kept on one row (ChildLastSeen): last seen,
last seen alone, and seen alone at one of the last three completed visits.

The definitions live here and nowhere else: a child is seen on a completed visit that
is not recorded in error and whose row for them says seen (alone); "the last three"
are the child's three latest such visits on the case that recorded them, seen or not,
by time and then by the order they were entered. A row for a child not yet born on the
day of the visit (visits.rules.born_at_visit_q) counts for nothing: no visit sees an
unborn baby, so the rows of a baby are worked out again when their dates change.

The rows follow the visits: saving a Visit or a ChildSeen works out again the rows of
the children it touches, in the same transaction (the receivers below). The visit
services wrap their saves in `deferred()`, so a visit recorded with three children is
worked out once at the end rather than after every save. Rows written without saving
models (the scale builder's COPY) are worked out with `rebuild()`.
"""

import threading
from collections.abc import Iterable
from contextlib import contextmanager

from django.db import transaction
from django.db.models import F, Max, Q, Window
from django.db.models.functions import RowNumber

from cases.models import Case, Person

from . import rules
from .models import ChildLastSeen, ChildSeen, Visit

LAST_VISITS = 3
_BATCH = 2000

_state = threading.local()


def _counted_rows(pairs_q: Q | None = None, child_seen=ChildSeen):
    rows = child_seen.objects.filter(
        rules.born_at_visit_q(), visit__in_error=False, visit__outcome=Visit.Outcome.COMPLETED
    ).order_by()
    return rows.filter(pairs_q) if pairs_q is not None else rows


def _work_out(pairs_q: Q | None, child_seen=ChildSeen) -> dict[tuple[int, int], dict]:
    """{(case id, child id): fields} for the children the filter selects (all when
    None): two reads, whatever the number of children or visits."""
    found: dict[tuple[int, int], dict] = {}
    for case_id, child_id, last, alone in (
        _counted_rows(pairs_q, child_seen)
        .order_by()
        .values("visit__case_id", "child_id")
        .annotate(
            last=Max("visit__occurred_at", filter=Q(seen=True)),
            alone=Max("visit__occurred_at", filter=Q(seen_alone=True)),
        )
        .values_list("visit__case_id", "child_id", "last", "alone")
    ):
        found[(case_id, child_id)] = {
            "last_seen_at": last,
            "last_alone_at": alone,
            "alone_in_last_three": False,
        }
    latest = (
        _counted_rows(pairs_q, child_seen)
        .annotate(
            place=Window(
                RowNumber(),
                partition_by=[F("visit__case_id"), F("child_id")],
                order_by=[F("visit__occurred_at").desc(), F("visit_id").desc()],
            )
        )
        .filter(place__lte=LAST_VISITS)
        .values_list("visit__case_id", "child_id", "seen_alone")
    )
    # Only the numbering may go in the filter: the database numbers the rows the inner
    # query keeps, so "seen alone" is tested here, on the three.
    for case_id, child_id, seen_alone in latest:
        if seen_alone:
            found[(case_id, child_id)]["alone_in_last_three"] = True
    return found


def _write(values: dict[tuple[int, int], dict], last_seen=ChildLastSeen) -> None:
    rows = [
        last_seen(case_id=case_id, child_id=child_id, **fields)
        for (case_id, child_id), fields in values.items()
    ]
    last_seen.objects.bulk_create(
        rows,
        batch_size=_BATCH,
        update_conflicts=True,
        unique_fields=["case", "child"],
        update_fields=["last_seen_at", "last_alone_at", "alone_in_last_three"],
    )


_NONE = {"last_seen_at": None, "last_alone_at": None, "alone_in_last_three": None}


def refresh(pairs: Iterable[tuple[int, int]]) -> None:
    """Work out again the rows of these (case id, child id) pairs: three statements."""
    pairs = set(pairs)
    if not pairs:
        return
    if getattr(_state, "pending", None) is not None:
        _state.pending |= pairs
        return
    cases = {case_id for case_id, _ in pairs}
    children = {child_id for _, child_id in pairs}
    # The rows are worked out from what this transaction can read and then written
    # over: without a lock, one recorded meanwhile on the same case (not yet committed
    # when this reads) would be overwritten by values that lack it. Holding the cases'
    # rows makes this wait for that transaction and then read what it committed. The
    # visit services lock the case too, so this adds no wait of its own.
    # A save outside any transaction (a script, autocommit) gets one of its own here.
    with transaction.atomic():
        list(
            Case.objects.select_for_update()
            .filter(pk__in=cases)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        found = _work_out(Q(visit__case_id__in=cases, child_id__in=children))
        # A child whose only visit was recorded in error has no visit left: blank again.
        _write({pair: found.get(pair, _NONE) for pair in pairs})


def rebuild(apps=None) -> int:
    """Work every row out again from the visits; returns the number of children with a
    completed visit. `apps`: a migration's models, when a migration calls it."""
    child_seen = apps.get_model("visits", "ChildSeen") if apps else ChildSeen
    last_seen = apps.get_model("visits", "ChildLastSeen") if apps else ChildLastSeen
    found = _work_out(None, child_seen)
    stale = set(last_seen.objects.values_list("case_id", "child_id")) - found.keys()
    _write({**found, **{pair: _NONE for pair in stale}}, last_seen)
    return len(found)


@contextmanager
def deferred():
    """Collect the pairs the saves in this block touch and work them out once, at the
    end of the block (inside the caller's transaction)."""
    if getattr(_state, "pending", None) is not None:
        yield  # an outer block works them out
        return
    _state.pending = set()
    try:
        yield
        pending = _state.pending
    finally:
        _state.pending = None
    refresh(pending)


# --- Receivers: connected in VisitsConfig.ready --------------------------------------------
# Each instance remembers the case (visit) or the visit and child (child's row) it was
# loaded with, so a save that moves it works out the rows it left as well.


def visit_loaded(sender, instance: Visit, **kwargs):
    instance._last_seen_case = instance.case_id


def visit_saved(sender, instance: Visit, raw=False, **kwargs):
    if raw:
        return
    cases = {instance.case_id, getattr(instance, "_last_seen_case", None)} - {None}
    instance._last_seen_case = instance.case_id
    children = list(ChildSeen.objects.filter(visit=instance).values_list("child_id", flat=True))
    refresh((case_id, child_id) for case_id in cases for child_id in children)


def child_seen_loaded(sender, instance: ChildSeen, **kwargs):
    instance._last_seen_key = (instance.visit_id, instance.child_id)


def _pairs_of(instance: ChildSeen) -> set[tuple[int, int]]:
    now = (instance.visit_id, instance.child_id)
    keys = {now, getattr(instance, "_last_seen_key", now)}
    if keys == {now} and ChildSeen.visit.is_cached(instance):
        return {(instance.visit.case_id, instance.child_id)}
    visits = {visit_id for visit_id, _ in keys if visit_id is not None}
    case_of = dict(Visit.objects.filter(pk__in=visits).values_list("pk", "case_id"))
    return {
        (case_of[visit_id], child_id)
        for visit_id, child_id in keys
        if visit_id in case_of and child_id is not None
    }


def child_seen_saved(sender, instance: ChildSeen, raw=False, **kwargs):
    if raw:
        return
    pairs = _pairs_of(instance)
    instance._last_seen_key = (instance.visit_id, instance.child_id)
    refresh(pairs)


def child_seen_deleted(sender, instance: ChildSeen, **kwargs):
    refresh(_pairs_of(instance))


_DATES = ("date_of_birth", "expected_date_of_birth")
_UNREAD = object()


def _dates(instance: Person) -> tuple:
    # From the instance's own values: reading a deferred field here would load it.
    return tuple(instance.__dict__.get(name, _UNREAD) for name in _DATES)


def person_loaded(sender, instance: Person, **kwargs):
    instance._last_seen_dates = _dates(instance)


def person_saved(sender, instance: Person, raw=False, created=False, **kwargs):
    """A birth date recorded (or a date corrected) decides which of the child's visits
    saw them: work their rows out again."""
    dates = _dates(instance)
    before = getattr(instance, "_last_seen_dates", None)
    instance._last_seen_dates = dates
    if raw or created or before == dates:
        return
    refresh(
        ChildSeen.objects.filter(child=instance)
        .order_by()
        .values_list("visit__case_id", "child_id")
        .distinct()
    )

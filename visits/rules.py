"""R1: the defaulted-visits rule, and R5: when each child must next be seen.

Rules decide from rows they are given or read; they write nothing.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from cases.models import Case, Escalation, Person
from safeguarding.workdays import add_working_days

from .models import Visit


def count_window_start(case: Case) -> datetime.date:
    """Defaults count from the case opening, or from the day after the last meeting that
    met a defaulted-visits escalation, or the day after the last one a manager
    cancelled fired, whichever is latest."""
    start = case.opened_on
    closed = Escalation.objects.filter(
        case=case,
        kind=Escalation.Kind.DEFAULTED_VISITS,
        state__in=[Escalation.State.MET, Escalation.State.MET_LATE, Escalation.State.CANCELLED],
    )
    for escalation in closed:
        if escalation.state == Escalation.State.CANCELLED:
            after = escalation.trigger_date
        else:
            after = escalation.met_on
        start = max(start, after + datetime.timedelta(days=1))
    return start


@dataclass(frozen=True)
class DefaultsVerdict:
    fires: bool
    count: int
    trigger_visit: Visit | None
    window_start: datetime.date

    @property
    def trigger_date(self) -> datetime.date | None:
        if self.trigger_visit is None:
            return None
        return timezone.localdate(self.trigger_visit.occurred_at)


def defaulted_visits_verdict(case: Case) -> DefaultsVerdict:
    """Does this case's record of defaulted visits call for an escalation now?

    The (threshold + 1)th default in the window, in the order they happened, fires;
    its date is day 0. A worker's cancellation is not a default, and visits marked
    recorded in error do not count.
    """
    # Checked before the count is read: an escalation closed by a meeting in between
    # is then seen closed by the count too, and its defaults do not fire another.
    active = Escalation.objects.filter(
        case=case, kind=Escalation.Kind.DEFAULTED_VISITS, state__in=Escalation.ACTIVE_STATES
    ).exists()
    start = count_window_start(case)
    window_start_at = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
    defaults = list(
        Visit.objects.filter(
            case=case,
            outcome=Visit.Outcome.DEFAULTED,
            in_error=False,
            occurred_at__gte=window_start_at,
        ).order_by("occurred_at", "id")
    )
    threshold = settings.DEFAULTED_VISITS_THRESHOLD
    if len(defaults) <= threshold:
        return DefaultsVerdict(False, len(defaults), None, start)
    return DefaultsVerdict(not active and case.is_open, len(defaults), defaults[threshold], start)


def trigger_withdrawn(verdict: DefaultsVerdict) -> bool:
    """Do the defaults counted now no longer reach what fired the active escalation
    (one marked in error or recorded again as something else)?"""
    return verdict.count <= settings.DEFAULTED_VISITS_THRESHOLD


def visit_interval(case: Case, *, child_on_plan: bool) -> int:
    """Working days allowed between visits to a child: the case's own, or the policy."""
    override = getattr(case, "visit_frequency", None)
    return interval_for(
        override.working_days if override is not None else None, child_on_plan=child_on_plan
    )


def interval_for(case_own: int | None, *, child_on_plan: bool) -> int:
    """`visit_interval` from the case's own interval (None when it sets none), for
    reads that have the number rather than the case."""
    if case_own is not None:
        return case_own
    if child_on_plan:
        return settings.VISIT_EVERY_WORKING_DAYS_CP
    return settings.VISIT_EVERY_WORKING_DAYS_CIN


# --- R5: which children are to be seen, and from when -------------------------------------
# One rule for the case page, My work, the managers' figures and the last-seen rows: a
# child not yet born is not a child to be seen. No visit is due for them and no "not
# seen" or "not seen alone" figure counts them until a birth date is recorded; from
# then on the interval counts from the birth (if that is later than their joining).


def unborn_on(
    date_of_birth: datetime.date | None,
    expected_date_of_birth: datetime.date | None,
    day: datetime.date,
) -> bool:
    """Was the child not yet born on `day`? So while no birth date is recorded and a
    due date is (cases.models.Person.is_unborn), and before a recorded birth date. A
    child with neither date recorded is taken as born: their birth date is not known."""
    if date_of_birth is None:
        return expected_date_of_birth is not None
    return date_of_birth > day


def person_unborn_on(person: Person, day: datetime.date) -> bool:
    return unborn_on(person.date_of_birth, person.expected_date_of_birth, day)


def born_at_visit_q(child: str = "child", visit: str = "visit") -> Q:
    """Not `unborn_on`, in SQL, for rows with a child and a visit (ChildSeen): the child
    was born on the (local) day the visit happened, or has no dates recorded."""
    return Q(
        **{
            f"{child}__date_of_birth__isnull": True,
            f"{child}__expected_date_of_birth__isnull": True,
        }
    ) | Q(**{f"{child}__date_of_birth__lte": TruncDate(f"{visit}__occurred_at")})


def seen_clock_start(
    *,
    last_seen: datetime.date | None,
    opened_on: datetime.date,
    joined_on: datetime.date | None,
    date_of_birth: datetime.date | None,
    expected_date_of_birth: datetime.date | None,
    today: datetime.date,
) -> datetime.date | None:
    """The day a child's visiting interval counts from: the last time a visit saw them,
    else the latest of the case opening, the child joining it and the child's birth.
    None for a child not yet born today: no visit is due to see them."""
    if unborn_on(date_of_birth, expected_date_of_birth, today):
        return None
    if last_seen is not None:
        return last_seen
    return max(d for d in (opened_on, joined_on, date_of_birth) if d is not None)


def next_visit_due(
    start: datetime.date | None, *, interval: int, calendar=None
) -> datetime.date | None:
    """Due `interval` working days after `start` (`seen_clock_start`); None when no visit
    is due (a child not yet born). `calendar` (a safeguarding.workdays.WorkingDayCalendar)
    dates many children with one read of closure days."""
    if start is None:
        return None
    add = calendar.add if calendar is not None else add_working_days
    return add(start, interval)


def overdue(next_due: datetime.date | None, today: datetime.date) -> bool:
    """Not seen within policy: the day the child was due to be seen by has passed."""
    return next_due is not None and next_due < today


def not_seen_alone_lately(alone_in_last_three: bool | None, *, unborn: bool) -> bool:
    """Not seen alone at their last three completed visits (visits.last_seen): counted
    once a completed visit has recorded the child, never for a child not yet born."""
    return not unborn and alone_in_last_three is False

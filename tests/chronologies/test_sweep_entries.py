"""The sweep writes the chronology entries of a batch of escalations gone overdue together:
the same entries, children and history as writing them one escalation at a time, nothing
duplicated when it runs again, and a number of statements that does not grow with the
escalations going overdue."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import roles
from cases import services as cs
from cases.models import Escalation
from chronologies import receivers, services
from chronologies.models import ChronologyEntry
from common.models import SweepRun
from tests.factories import (
    CaseFactory,
    MembershipFactory,
    RuleEscalationFactory,
    UserFactory,
)

D = datetime.date


def at(day, hour=8):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


SWEEP = at(D(2027, 1, 7))  # Thu 7 Jan 2027: escalations fired 23 Dec were due 6 Jan
FIRED = at(D(2026, 12, 23), 10)


@pytest.fixture
def manager(worker):
    for name in roles.ALL_ROLES:
        Group.objects.get_or_create(name=name)
    return UserFactory(username="manager", team=worker.team, role=roles.TEAM_MANAGER)


def _escalation(worker, *, children=0, fired_entry=True):
    case = CaseFactory(team=worker.team, opened_on=D(2026, 1, 5))
    case.allocated_workers.add(worker)
    kids = [MembershipFactory(case=case).person for _ in range(children)]
    escalation = RuleEscalationFactory(case=case, trigger_date=D(2026, 12, 23))
    if fired_entry:  # written when it fired, by the worker who raised it
        with time_machine.travel(FIRED, tick=False):
            receivers.escalation_changed(escalation, actor=worker, now=FIRED)
    return escalation, kids


@pytest.fixture
def due(worker, manager):
    """Escalations going overdue in every way their entries can change."""
    plain, _ = _escalation(worker, fired_entry=False)  # no entries yet, no children
    two, _ = _escalation(worker, children=2)  # fired entry to update, two children
    moved, (leaving,) = _escalation(worker, children=1)
    # since it fired, the child left the record (in error) and another joined
    cs.record_mark_in_error(actor=manager, record=leaving.memberships.get(), reason="Wrong child")
    MembershipFactory(case=moved.case)
    chosen, _ = _escalation(worker, children=1)
    entry = ChronologyEntry.objects.get(source_type="escalation", source_id=str(chosen.pk))
    services.entry_set_significance(actor=manager, entry=entry, significance="routine")
    return [plain, two, moved, chosen]


def _entries():
    """Every escalation entry with its children and its history, without database ids
    (a rolled-back run may not reuse them)."""
    rows = []
    for e in ChronologyEntry.objects.filter(source_type__startswith="escalation").order_by(
        "source_type", "source_id"
    ):
        history = [
            (
                h.history_type,
                h.history_user_id,
                h.history_date,
                h.title,
                h.significance,
                h.updated_at,
                sorted(c.person_id for c in h.children.all()),
            )
            for h in e.history.order_by("history_date", "history_id")
        ]
        rows.append(
            (
                e.source_type,
                e.source_id,
                e.case_id,
                e.category,
                e.occurred_on,
                e.occurred_at,
                e.title,
                e.details,
                e.analysis,
                e.action_taken,
                e.significance,
                e.significance_set_by_id,
                e.source_in_error,
                e.created_at,
                e.created_by_id,
                e.updated_at,
                sorted(e.children.values_list("pk", flat=True)),
                history,
            )
        )
    return rows


class Rollback(Exception):
    pass


def test_the_sweep_writes_the_entries_one_escalation_at_a_time_would(due):
    with time_machine.travel(SWEEP, tick=False):
        try:
            with transaction.atomic():
                # The single-event path, as a page records one change: each escalation
                # goes overdue and its entries are written on their own.
                for escalation in due:
                    escalation = Escalation.objects.get(pk=escalation.pk)
                    escalation.state, escalation.overdue_at = "overdue", SWEEP
                    escalation.save()
                    receivers.escalation_changed(escalation, actor=None, now=SWEEP)
                one_at_a_time = _entries()
                raise Rollback
        except Rollback:
            pass
        result = cs.escalations_sweep(now=SWEEP)

    assert result["changed"] == 4
    swept = _entries()
    assert swept == one_at_a_time
    by_key = {(row[0], row[1]): row for row in swept}
    plain, two, moved, chosen = due
    # each escalation has its firing entry (now saying overdue) and an overdue entry
    assert set(by_key) == {
        (t, str(e.pk)) for e in due for t in ("escalation", "escalation_overdue")
    }
    assert all(
        row[6].endswith("(overdue)") for key, row in by_key.items() if key[0] == "escalation"
    )
    # children follow the case's current children, on both entries
    kids = {
        e.pk: sorted(
            e.case.memberships.filter(relationship="child", in_error=False).values_list(
                "person_id", flat=True
            )
        )
        for e in due
    }
    assert len(kids[two.pk]) == 2 and len(kids[moved.pk]) == 1 and kids[plain.pk] == []
    for (_, source_id), row in by_key.items():
        assert row[16] == kids[int(source_id)]
    # a significance a person chose is kept; the source's applies to the new entry
    assert by_key[("escalation", str(chosen.pk))][10] == "routine"
    assert by_key[("escalation_overdue", str(chosen.pk))][10] == "critical"
    # the sweep acts for no one: the rows it wrote have no author; the firing entries
    # keep the worker who wrote them first
    worker_id = by_key[("escalation", str(two.pk))][14]
    assert worker_id is not None
    fired_history = by_key[("escalation", str(moved.pk))][17]
    assert [h[:2] for h in fired_history] == [
        ("+", worker_id),
        ("~", worker_id),  # created, then its child added
        ("~", None),  # the title says overdue (children as they were)
        ("~", None),
        ("~", None),
    ]  # the child in error removed, the new child added
    assert fired_history[2][6] != fired_history[4][6] == kids[moved.pk]
    assert fired_history[3][6] == []
    assert [h[:2] for h in by_key[("escalation_overdue", str(plain.pk))][17]] == [("+", None)]


def test_sweeping_again_duplicates_nothing(due):
    with time_machine.travel(SWEEP, tick=False):
        first = cs.escalations_sweep(now=SWEEP)
        after_first = _entries()
        second = cs.escalations_sweep(now=SWEEP)
        assert _entries() == after_first
        # the same batch announced again finds every entry as it should be
        receivers.escalations_changed(
            Escalation.objects.filter(pk__in=[e.pk for e in due]), now=SWEEP
        )
    assert (first["changed"], second["changed"]) == (4, 0)
    assert _entries() == after_first
    assert ChronologyEntry.objects.filter(source_type__startswith="escalation").count() == 8


def test_a_source_named_twice_in_one_call_is_written_twice_in_order(worker):
    case = CaseFactory(team=worker.team)
    item = dict(case=case, source_type="t", source_id=1, category="case", occurred_on=D(2026, 1, 6))
    first, second = services.entries_record(
        [services.RecordedEntry(**item, title="One"), services.RecordedEntry(**item, title="Two")],
        actor=worker,
    )
    assert first.pk == second.pk
    entry = ChronologyEntry.objects.get(source_type="t")
    assert entry.title == "Two"
    assert [h.title for h in entry.history.order_by("history_id")] == ["One", "Two"]


def _sweep_statements(now):
    SweepRun.objects.get_or_create(name="escalations")  # as after the sweep's first run
    with time_machine.travel(now, tick=False), CaptureQueriesContext(connection) as queries:
        result = cs.escalations_sweep(now=now)
    sql = [q["sql"] for q in queries.captured_queries]
    chronology = [s for s in sql if "chronologies_" in s or "cases_membership" in s]
    notifications = [s for s in sql if "accounts_notification" in s]
    return result, len(chronology), len(sql) - len(notifications)


def test_the_sweeps_statements_do_not_grow_with_the_escalations_going_overdue(worker, manager):
    def going_overdue(n):
        for i in range(n):
            _escalation(worker, children=1 + i % 2, fired_entry=i % 3 != 0)
        result, chronology, all_but_notifications = _sweep_statements(SWEEP)
        assert result["changed"] == n
        return chronology, all_but_notifications

    few = going_overdue(3)
    many = going_overdue(12)
    assert few[0] > 0
    # Each escalation's notifications are still its own insert; nothing else grows.
    assert many == few

"""The sweep recomputes escalations a batch at a time: the same results as one at a time,
idempotent, rows another sweep holds left alone, and a cost that does not grow with the
number of escalations it checks when nothing about them changes."""

import datetime
import threading

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import roles
from accounts.models import Notification
from accounts.services import notifications_send_due
from cases import services
from cases.models import Escalation
from chronologies.models import ChronologyEntry
from common.models import SweepRun
from tests.factories import (
    CaseFactory,
    MeetingFactory,
    RuleEscalationFactory,
    TeamFactory,
    UserFactory,
)

D = datetime.date


def at(day, hour=8):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture
def people(db, worker):
    for name in roles.ALL_ROLES:
        Group.objects.get_or_create(name=name)
    south = TeamFactory(name="South Assessment", code="south")
    return {
        "worker": worker,
        "manager": UserFactory(username="manager", team=worker.team, role=roles.TEAM_MANAGER),
        "south_worker": UserFactory(username="south_worker", team=south),
        "south_manager": UserFactory(username="south_manager", team=south, role=roles.TEAM_MANAGER),
        "head": UserFactory(username="head", team=south, role=roles.SERVICE_MANAGER),
        "named": UserFactory(username="named", team=south),
    }


def _case(people, team_of="worker", **extra):
    worker = people[team_of]
    case = CaseFactory(team=worker.team, opened_on=D(2026, 1, 5), **extra)
    case.allocated_workers.add(worker)
    return case


@pytest.fixture
def mixed(people):
    """Escalations in every situation the sweep meets on Thu 7 Jan 2027 at 08:00."""
    north = _case(people)
    south = _case(people, "south_worker")
    restricted = _case(people, restricted=True)
    restricted.restricted_to.add(people["named"])
    met = _case(people)
    met_late = _case(people, "south_worker")
    remind = _case(people)
    later = _case(people, "south_worker")
    escalations = {
        # due Wed 6 Jan: overdue now
        "north": RuleEscalationFactory(case=north, trigger_date=D(2026, 12, 23)),
        "south": RuleEscalationFactory(case=south, trigger_date=D(2026, 12, 23)),
        "restricted": RuleEscalationFactory(case=restricted, trigger_date=D(2026, 12, 23)),
        # a meeting already recorded meets it, on time or late
        "met": RuleEscalationFactory(case=met, trigger_date=D(2026, 12, 23)),
        "met_late": RuleEscalationFactory(case=met_late, trigger_date=D(2026, 12, 23)),
        # due Fri 8 Jan: today is the reminder day
        "remind": RuleEscalationFactory(case=remind, trigger_date=D(2026, 12, 29)),
        # due later: nothing to do yet
        "later": RuleEscalationFactory(case=later, trigger_date=D(2027, 1, 6)),
    }
    MeetingFactory(case=met, kind="multi_agency", held_on=D(2027, 1, 4))
    MeetingFactory(case=met_late, kind="multi_agency", held_on=D(2027, 1, 7))
    # a meeting of another case or kind meets nothing here
    MeetingFactory(case=later, kind="core_group", held_on=D(2027, 1, 6))
    return escalations


def _outcome(escalations):
    rows = {name: Escalation.objects.get(pk=e.pk) for name, e in escalations.items()}
    return {
        "escalations": {
            name: (
                e.state,
                e.due_date,
                e.overdue_at,
                e.reminder_queued_at,
                e.met_by_id,
                e.history.count(),
            )
            for name, e in rows.items()
        },
        "notifications": sorted(
            Notification.objects.values_list("recipient__username", "event_key", "channel")
        ),
        "entries": sorted(
            ChronologyEntry.objects.filter(source_type__startswith="escalation").values_list(
                "source_type", "source_id", "title"
            )
        ),
    }


class Rollback(Exception):
    pass


def test_it_refreshes_a_batch_to_the_same_result_as_one_at_a_time(mixed):
    now = at(D(2027, 1, 7))
    ids = [e.pk for e in mixed.values()]
    with time_machine.travel(now, tick=False):
        try:
            with transaction.atomic():
                for pk in ids:
                    services.escalation_refresh(pk, now=now)
                one_at_a_time = _outcome(mixed)
                raise Rollback
        except Rollback:
            pass
        refreshed = services.escalations_refresh(ids, now=now)

    assert _outcome(mixed) == one_at_a_time
    states = {e.pk: (before, e.state) for e, before in refreshed}
    assert states == {
        mixed["north"].pk: ("open", "overdue"),
        mixed["south"].pk: ("open", "overdue"),
        mixed["restricted"].pk: ("open", "overdue"),
        mixed["met"].pk: ("open", "met"),
        mixed["met_late"].pk: ("open", "met_late"),
        mixed["remind"].pk: ("open", "open"),
        mixed["later"].pk: ("open", "open"),
    }
    # each case's own people heard: the team's manager and the head of service once
    # overdue; only the named user on the restricted case; the worker for a reminder
    heard = {(user, key) for user, key, _ in one_at_a_time["notifications"]}
    assert heard == {
        ("manager", f"escalation:{mixed['north'].pk}:overdue"),
        ("head", f"escalation:{mixed['north'].pk}:overdue"),
        ("south_manager", f"escalation:{mixed['south'].pk}:overdue"),
        ("head", f"escalation:{mixed['south'].pk}:overdue"),
        ("named", f"escalation:{mixed['restricted'].pk}:overdue"),
        ("worker", f"escalation:{mixed['remind'].pk}:reminder"),
        ("manager", f"escalation:{mixed['remind'].pk}:reminder"),
    }


def test_it_sweeps_in_batches_once_and_then_changes_nothing(mixed, monkeypatch):
    monkeypatch.setattr(services.escalations, "SWEEP_BATCH", 2)
    now = at(D(2027, 1, 7))
    with time_machine.travel(now, tick=False):
        first = services.escalations_sweep(now=now)
        after_first = _outcome(mixed)
        second = services.escalations_sweep(now=now)

    assert first["checked"] == 7 and first["changed"] == 5
    assert second == {"checked": 5, "changed": 0, "failed": 0, "set_aside": 0}  # met: closed
    assert _outcome(mixed) == after_first


def _sweep_queries(now):
    """The sweep's statements (its bookkeeping row already there, as after its first
    run); then the send task, as beat runs it, sends what the sweep queued."""
    SweepRun.objects.get_or_create(name=services.escalations.SWEEP_NAME)
    with time_machine.travel(now, tick=False):
        with CaptureQueriesContext(connection) as queries:
            result = services.escalations_sweep(now=now)
        result["emails_sent"] = notifications_send_due(now=now)
    return result, len(queries.captured_queries)


def test_its_queries_do_not_grow_with_the_escalations_it_checks(people):
    # Fired Wed 6 Jan 2027, due Fri 15 Jan: on Mon 11 Jan nothing changes for them.
    now = at(D(2027, 1, 11))
    for _ in range(3):
        RuleEscalationFactory(case=_case(people), trigger_date=D(2027, 1, 6))
    few, few_queries = _sweep_queries(now)
    for _ in range(12):
        RuleEscalationFactory(case=_case(people, "south_worker"), trigger_date=D(2027, 1, 6))
    many, many_queries = _sweep_queries(now)

    assert (few["checked"], many["checked"]) == (3, 15)
    assert few["changed"] == many["changed"] == 0
    assert many_queries == few_queries


def test_its_statements_for_overdue_escalations_do_not_grow_with_their_number(people):
    # Everything is per batch: locks, meetings, deadlines, recipients, chronology entries
    # and the notifications of every escalation gone overdue (one insert). Sending their
    # emails is the send task's job, not the sweep's.
    now = at(D(2027, 1, 7))

    def overdue_sweep(n):
        new = [
            RuleEscalationFactory(case=_case(people), trigger_date=D(2026, 12, 23))
            for _ in range(n)
        ]
        mail.outbox.clear()
        result, count = _sweep_queries(now)
        assert result["changed"] == n and result["emails_sent"] == 2 * n
        for escalation in new:
            heard = Notification.objects.filter(event_key=f"escalation:{escalation.pk}:overdue")
            assert sorted(heard.values_list("recipient__username", "channel")) == [
                ("head", "email"),
                ("head", "in_app"),
                ("manager", "email"),
                ("manager", "in_app"),
            ]
        assert sorted(m.to[0] for m in mail.outbox) == sorted(
            ["head@council.example", "manager@council.example"] * n
        )
        return count

    assert overdue_sweep(1) == overdue_sweep(3) == overdue_sweep(5)


def test_its_statements_for_reminders_do_not_grow_with_their_number(people):
    # Due Fri 8 Jan 2027: Thu 7 Jan is the reminder day.
    now = at(D(2027, 1, 7))

    def reminder_sweep(n):
        for _ in range(n):
            RuleEscalationFactory(case=_case(people), trigger_date=D(2026, 12, 29))
        result, count = _sweep_queries(now)
        assert result["emails_sent"] == 2 * n  # the worker and the team manager
        return count

    assert reminder_sweep(1) == reminder_sweep(3) == reminder_sweep(5)


@pytest.mark.django_db(transaction=True)
def test_it_leaves_an_escalation_another_sweep_holds(people):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    held = RuleEscalationFactory(case=_case(people), trigger_date=D(2026, 12, 23))
    free = RuleEscalationFactory(case=_case(people), trigger_date=D(2026, 12, 23))
    now = at(D(2027, 1, 7))
    locked, release = threading.Event(), threading.Event()

    def other_sweep():
        try:
            with transaction.atomic():
                Escalation.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_sweep)
    thread.start()
    assert locked.wait(timeout=30)
    try:
        with time_machine.travel(now, tick=False):
            result = services.escalations_sweep(now=now)
    finally:
        release.set()
        thread.join()

    assert result["checked"] == 2 and result["changed"] == 1
    assert Escalation.objects.get(pk=held.pk).state == "open"
    assert Escalation.objects.get(pk=free.pk).state == "overdue"
    with time_machine.travel(now, tick=False):
        assert services.escalations_sweep(now=now)["changed"] == 1
    assert Escalation.objects.get(pk=held.pk).state == "overdue"

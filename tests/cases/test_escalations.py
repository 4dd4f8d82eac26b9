"""Escalations (R1-R4): met, met late, overdue and cancelled; reminders on the working day
before the deadline; the sweep and the evaluation run any number of times, also at once;
notifications as outbox rows, one per recipient, event and channel, and the emails sent.

Deadlines were counted by hand on the England and Wales calendar: Wed 23 Dec 2026 + 7
working days = Wed 6 Jan 2027 (24, [25, 28], 29, 30, 31, [1 Jan], 4, 5, 6); with a plan
+ 3 = Wed 30 Dec 2026.
"""

import datetime
import threading
from collections import Counter
from unittest import mock

import pytest
import time_machine
from celery import current_app
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from accounts import roles
from accounts.models import ClosureDay, Notification
from accounts.services import notifications_send_due
from cases import services
from cases.models import Escalation, Meeting
from tests.factories import (
    CaseFactory,
    MeetingFactory,
    MembershipFactory,
    PlanFactory,
    RecordedVisitFactory,
    RuleEscalationFactory,
    TeamFactory,
    UserFactory,
)
from tests.smtp_sink import closed_port
from visits import services as visit_services

D = datetime.date
MA = Meeting.Kind.MULTI_AGENCY
CG = Meeting.Kind.CORE_GROUP
EMAIL, IN_APP = Notification.Channel.EMAIL, Notification.Channel.IN_APP


def at(day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


# --- People and a case -------------------------------------------------------------------


@pytest.fixture
def role_groups(db):
    # Transactional tests flush the database, role groups from the migration included.
    for name in roles.ALL_ROLES:
        Group.objects.get_or_create(name=name)


@pytest.fixture
def people(role_groups, worker):
    team = worker.team
    other_team = TeamFactory(name="South Assessment", code="south")
    return {
        "worker": worker,
        "colleague": UserFactory(username="colleague", team=team),
        "manager": UserFactory(username="manager", team=team, role=roles.TEAM_MANAGER),
        "supervisor": UserFactory(username="supervisor", team=team, role=roles.PRACTICE_SUPERVISOR),
        "gone": UserFactory(username="gone", team=team, role=roles.TEAM_MANAGER, is_active=False),
        "south_manager": UserFactory(
            username="south_manager", team=other_team, role=roles.TEAM_MANAGER
        ),
        "head": UserFactory(username="head", team=other_team, role=roles.SERVICE_MANAGER),
    }


@pytest.fixture
def case(people):
    case = CaseFactory(team=people["worker"].team, opened_on=D(2026, 1, 5))
    case.allocated_workers.add(people["worker"], people["colleague"])
    return case


@pytest.fixture
def child(case):
    return MembershipFactory(case=case, start_date=D(2026, 1, 5)).person


@pytest.fixture
def escalation(case):
    """Fired on Wed 23 Dec 2026, no plan: a multi-agency meeting by Wed 6 Jan 2027."""
    return RuleEscalationFactory(
        case=case, trigger_date=D(2026, 12, 23), created_at=at(D(2026, 12, 23), 11)
    )


@pytest.fixture
def eager_celery(settings):
    # Read before the setting changes: Celery loads its settings on first use, and
    # loaded now it would keep "eager" for every test after this one.
    previous = current_app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = True
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = previous


def sweep(now):
    """The escalations sweep and then the send task, as beat runs them."""
    with time_machine.travel(now, tick=False):
        result = services.escalations_sweep(now=now)
        sent = notifications_send_due(now=now)
    return {"checked": result["checked"], "changed": result["changed"], "emails_sent": sent}


def hold(people, case, *, held_on, kind=MA, now=None, meets=None):
    return services.meeting_record(
        actor=people["manager"],
        case=case,
        kind=kind,
        held_on=held_on,
        chair="Team manager",
        decisions="Unannounced visits twice a week",
        meets=meets,
        now=now or at(held_on, 17),
    )


def fresh(escalation):
    return Escalation.objects.get(pk=escalation.pk)


def recipients(escalation, event):
    """{(username, channel)} of the notifications for one event of an escalation."""
    rows = Notification.objects.filter(event_key=f"escalation:{escalation.pk}:{event}")
    return sorted((n.recipient.username, n.channel) for n in rows.select_related("recipient"))


def both(*usernames):
    return sorted((u, c) for u in usernames for c in (EMAIL, IN_APP))


def fire(case, days, *, now):
    """Record the defaults (family not in) and evaluate the rule as the task would."""
    worker = case.allocated_workers.order_by("username").last()
    for day in days:
        RecordedVisitFactory(case=case, lead_worker=worker, planned_for=at(day))
    with time_machine.travel(now, tick=False):
        return visit_services.visits_evaluate_case(case.pk, now=now)


FOUR_BY_23_DEC = (D(2026, 12, 14), D(2026, 12, 16), D(2026, 12, 18), D(2026, 12, 23))


# --- Met, met late, overdue --------------------------------------------------------------


def test_it_is_met_by_a_meeting_held_on_the_deadline(people, case, escalation):
    meeting = hold(people, case, held_on=D(2027, 1, 6))

    escalation = fresh(escalation)
    assert escalation.state == Escalation.State.MET
    assert (escalation.met_by, escalation.met_on) == (meeting, D(2027, 1, 6))
    assert escalation.closed_at == at(D(2027, 1, 6), 17)


def test_it_is_met_by_a_meeting_held_on_the_day_it_fired(people, case, escalation):
    hold(people, case, held_on=D(2026, 12, 23))

    assert fresh(escalation).state == Escalation.State.MET


def test_it_is_met_late_by_a_meeting_held_after_the_deadline(people, case, escalation):
    # The sweep has not run yet: still open, but the meeting came a day late.
    hold(people, case, held_on=D(2027, 1, 7))

    assert fresh(escalation).state == Escalation.State.MET_LATE


def test_it_stays_open_to_the_end_of_the_deadline_then_goes_overdue(people, case, escalation):
    sweep(at(D(2027, 1, 6), 23, 59))
    assert fresh(escalation).state == Escalation.State.OPEN

    sweep(at(D(2027, 1, 7), 0, 1))
    escalation = fresh(escalation)
    assert escalation.state == Escalation.State.OVERDUE
    assert escalation.overdue_at == at(D(2027, 1, 7), 0, 1)


def test_it_turns_overdue_into_met_late_when_the_meeting_is_held(people, case, escalation):
    sweep(at(D(2027, 1, 7), 8))
    assert fresh(escalation).state == Escalation.State.OVERDUE

    hold(people, case, held_on=D(2027, 1, 8))

    escalation = fresh(escalation)
    assert escalation.state == Escalation.State.MET_LATE
    assert escalation.met_on == D(2027, 1, 8)
    assert escalation.overdue_at is not None


def test_it_counts_a_meeting_held_in_time_but_recorded_after_it_went_overdue_as_met(
    people, case, escalation
):
    sweep(at(D(2027, 1, 7), 8))

    hold(people, case, held_on=D(2027, 1, 6), now=at(D(2027, 1, 8)))

    assert fresh(escalation).state == Escalation.State.MET


def test_it_is_met_by_the_sweep_from_a_meeting_already_recorded(people, case, escalation):
    # A meeting row that did not close it when saved (written by another path) is found
    # by the sweep, which recomputes rather than trusting the stored state.
    meeting = MeetingFactory(case=case, kind=MA, held_on=D(2027, 1, 5))

    sweep(at(D(2027, 1, 7), 8))

    escalation = fresh(escalation)
    assert (escalation.state, escalation.met_by) == (Escalation.State.MET, meeting)
    assert recipients(escalation, "overdue") == []


@pytest.mark.parametrize(
    ("kind", "held_on"),
    [
        pytest.param(CG, D(2027, 1, 5), id="another-kind"),
        pytest.param(MA, D(2026, 12, 22), id="held-before-it-fired"),
    ],
)
def test_it_is_not_met_by_a_meeting_that_cannot_meet_it(kind, held_on, case, escalation):
    MeetingFactory(case=case, kind=kind, held_on=held_on)

    sweep(at(D(2027, 1, 7), 8))

    assert fresh(escalation).state == Escalation.State.OVERDUE


def test_it_is_not_met_by_a_meeting_on_another_case(people, case, escalation):
    other = CaseFactory(team=case.team)

    hold(people, other, held_on=D(2027, 1, 5))

    assert fresh(escalation).state == Escalation.State.OPEN


def test_it_keeps_the_plan_status_and_meeting_fixed_when_it_fired(people, case, child):
    escalation = fire(case, FOUR_BY_23_DEC, now=at(D(2026, 12, 23), 11))
    assert escalation.required_meeting == MA
    PlanFactory(case=case, child=child, start_date=D(2026, 12, 24))

    sweep(at(D(2026, 12, 29), 8))

    escalation = fresh(escalation)
    assert (escalation.child_on_plan, escalation.required_meeting) == (False, MA)
    assert escalation.due_date == D(2027, 1, 6)
    hold(people, case, held_on=D(2026, 12, 29), kind=CG)
    assert fresh(escalation).state == Escalation.State.OPEN


def test_it_moves_the_deadline_when_a_closure_day_is_added_after_it_fired(case, escalation):
    ClosureDay.objects.create(date=D(2027, 1, 4), reason="Office move")

    sweep(at(D(2027, 1, 6), 8))

    escalation = fresh(escalation)
    assert escalation.due_date == D(2027, 1, 7)
    assert escalation.state == Escalation.State.OPEN


# --- Cancelled: only by a manager, with a reason -----------------------------------------


@pytest.mark.parametrize("who", ["manager", "head"])
def test_it_is_cancelled_by_a_manager_with_a_reason(who, people, case, escalation):
    services.escalation_cancel(
        actor=people[who],
        escalation=escalation,
        reason="  Visits were logged on the wrong family  ",
        now=at(D(2026, 12, 24)),
    )

    escalation = fresh(escalation)
    assert escalation.state == Escalation.State.CANCELLED
    assert escalation.cancelled_by == people[who]
    assert escalation.cancelled_reason == "Visits were logged on the wrong family"
    assert escalation.closed_at == at(D(2026, 12, 24))
    assert escalation.history.first().history_user == people[who]


def test_it_can_cancel_an_overdue_escalation(people, case, escalation):
    sweep(at(D(2027, 1, 7), 8))

    services.escalation_cancel(
        actor=people["manager"],
        escalation=escalation,
        reason="Case transferred",
        now=at(D(2027, 1, 7), 9),
    )

    assert fresh(escalation).state == Escalation.State.CANCELLED


@pytest.mark.parametrize("who", ["worker", "supervisor", "south_manager"])
def test_it_refuses_a_cancellation_by_anyone_but_a_manager_of_the_case(who, people, escalation):
    with pytest.raises(PermissionDenied):
        services.escalation_cancel(
            actor=people[who], escalation=escalation, reason="Not needed", now=at(D(2026, 12, 24))
        )

    assert fresh(escalation).state == Escalation.State.OPEN


@pytest.mark.parametrize("reason", ["", "   "])
def test_it_refuses_a_cancellation_without_a_reason(reason, people, escalation):
    with pytest.raises(ValidationError) as exc:
        services.escalation_cancel(
            actor=people["manager"], escalation=escalation, reason=reason, now=at(D(2026, 12, 24))
        )

    assert list(exc.value.message_dict) == ["reason"]
    assert fresh(escalation).state == Escalation.State.OPEN


def test_it_refuses_to_cancel_an_escalation_already_met(people, case, escalation):
    hold(people, case, held_on=D(2026, 12, 30))

    with pytest.raises(ValidationError, match="already met"):
        services.escalation_cancel(
            actor=people["manager"],
            escalation=escalation,
            reason="Not needed",
            now=at(D(2026, 12, 31)),
        )

    assert fresh(escalation).state == Escalation.State.MET


# --- Reminders, with time frozen ----------------------------------------------------------


@pytest.mark.parametrize(
    ("trigger", "on_plan", "due", "reminder_day"),
    [
        # + 3 from Wed 23 Dec: 24, [25, 28], 29, 30. Mon 28 is a bank holiday: Tue 29.
        pytest.param(D(2026, 12, 23), True, D(2026, 12, 30), D(2026, 12, 29), id="christmas"),
        # + 3 from Tue 29 Dec: 30, 31, [1 Jan], Mon 4. The day before is Thu 31 Dec.
        pytest.param(D(2026, 12, 29), True, D(2027, 1, 4), D(2026, 12, 31), id="new-year"),
        # + 3 from Sat 27 Mar 2027: [Easter Monday], Tue 30, Wed 31, Thu 1 Apr.
        pytest.param(D(2027, 3, 27), True, D(2027, 4, 1), D(2027, 3, 31), id="easter"),
        # + 7 from Wed 23 Dec: Wed 6 Jan; the day before is Tue 5 Jan.
        pytest.param(D(2026, 12, 23), False, D(2027, 1, 6), D(2027, 1, 5), id="no-plan"),
    ],
)
def test_it_reminds_on_the_working_day_before_the_deadline(
    trigger, on_plan, due, reminder_day, people, case
):
    escalation = RuleEscalationFactory(
        case=case, trigger_date=trigger, child_on_plan=on_plan, created_at=at(trigger, 11)
    )
    assert escalation.due_date == due

    reminded_on = []
    day = trigger
    while day <= due:
        for hour in (0, 8, 13, 23):
            sweep(at(day, hour, 30))
        if recipients(escalation, "reminder") and not reminded_on:
            reminded_on.append(day)
        day += datetime.timedelta(days=1)

    assert reminded_on == [reminder_day]
    escalation = fresh(escalation)
    assert timezone.localdate(escalation.reminder_queued_at) == reminder_day
    assert recipients(escalation, "reminder") == both("colleague", "manager", "worker")
    assert escalation.state == Escalation.State.OPEN


def test_it_sends_no_reminder_once_the_meeting_is_held(people, case, escalation):
    hold(people, case, held_on=D(2027, 1, 4))

    sweep(at(D(2027, 1, 5), 8))

    assert recipients(escalation, "reminder") == []


# --- Notifications -------------------------------------------------------------------------


def test_it_notifies_the_allocated_workers_and_team_manager_when_it_fires(people, case, child):
    escalation = fire(case, FOUR_BY_23_DEC, now=at(D(2026, 12, 23), 11))

    assert recipients(escalation, "fired") == both("colleague", "manager", "worker")
    in_app = Notification.objects.filter(
        event_key=f"escalation:{escalation.pk}:fired", channel=IN_APP
    )
    assert all(n.sent_at is not None and n.case_id == case.pk for n in in_app)
    assert "multi-agency meeting due by Wednesday 06 January 2027" in in_app[0].subject

    assert notifications_send_due(now=at(D(2026, 12, 23), 11, 1)) == 3

    assert sorted(m.to[0] for m in mail.outbox) == [
        "colleague@council.example",
        "manager@council.example",
        "worker@council.example",
    ]
    message = mail.outbox[0]
    assert message.subject == in_app[0].subject
    assert f"/cases/{case.pk}/" in message.body
    assert "OFFICIAL-SENSITIVE" in message.body
    assert not Notification.objects.filter(channel=EMAIL, sent_at__isnull=True).exists()


def test_it_notifies_in_the_app_only_someone_with_no_email_address(people, case, child):
    people["colleague"].email = ""
    people["colleague"].save()

    escalation = fire(case, FOUR_BY_23_DEC, now=at(D(2026, 12, 23), 11))

    assert ("colleague", IN_APP) in recipients(escalation, "fired")
    assert ("colleague", EMAIL) not in recipients(escalation, "fired")


def test_it_notifies_the_team_and_service_managers_when_it_goes_overdue(people, case, escalation):
    result = sweep(at(D(2027, 1, 7), 8))

    assert result == {"checked": 1, "changed": 1, "emails_sent": 2}
    assert recipients(escalation, "overdue") == both("head", "manager")
    assert sorted(m.to[0] for m in mail.outbox) == [
        "head@council.example",
        "manager@council.example",
    ]
    assert all(m.subject.startswith("Overdue: multi-agency meeting") for m in mail.outbox)


def test_it_reminds_by_email_the_day_before(people, case, escalation):
    sweep(at(D(2027, 1, 5), 8))

    assert sorted(m.to[0] for m in mail.outbox) == [
        "colleague@council.example",
        "manager@council.example",
        "worker@council.example",
    ]
    assert all(m.subject.startswith("Reminder:") for m in mail.outbox)


def test_it_fires_already_overdue_when_the_defaults_are_recorded_late(people, case, child):
    # The 4th default happened on 23 Dec but is only recorded on 8 Jan, past the deadline.
    escalation = fire(case, FOUR_BY_23_DEC, now=at(D(2027, 1, 8), 9))

    escalation = fresh(escalation)
    assert escalation.state == Escalation.State.OVERDUE
    assert escalation.overdue_at == at(D(2027, 1, 8), 9)
    assert recipients(escalation, "fired") == both("colleague", "manager", "worker")
    assert recipients(escalation, "overdue") == both("head", "manager")

    sweep(at(D(2027, 1, 8), 9, 5))
    assert recipients(escalation, "overdue") == both("head", "manager")
    assert Counter(m.to[0] for m in mail.outbox) == {
        "colleague@council.example": 1,
        "worker@council.example": 1,
        "manager@council.example": 2,
        "head@council.example": 1,
    }


def test_it_sends_one_notification_per_recipient_per_event_however_often_the_tasks_run(
    people, case, child
):
    fire(case, FOUR_BY_23_DEC, now=at(D(2026, 12, 23), 11))
    for day, hour in [
        (D(2026, 12, 23), 12),
        (D(2027, 1, 5), 8),
        (D(2027, 1, 5), 9),
        (D(2027, 1, 7), 8),
        (D(2027, 1, 7), 9),
        (D(2027, 1, 8), 8),
    ]:
        with time_machine.travel(at(day, hour), tick=False):
            visit_services.visits_evaluate_case(case.pk, now=at(day, hour))
            services.escalations_sweep(now=at(day, hour))
            notifications_send_due(now=at(day, hour, 1))

    escalation = Escalation.objects.get(case=case)
    assert escalation.state == Escalation.State.OVERDUE
    per_row = Counter(
        Notification.objects.values_list("recipient__username", "event_key", "channel")
    )
    assert set(per_row.values()) == {1}
    events = Counter(key.rsplit(":", 1)[1] for _, key, _ in per_row)
    assert events == {"fired": 6, "reminder": 6, "overdue": 4}
    assert len(mail.outbox) == 8  # 3 fired, 3 reminders, 2 overdue
    assert not Notification.objects.filter(channel=EMAIL, sent_at__isnull=True).exists()


def test_it_retries_an_email_that_failed_on_the_next_sweep(people, case, escalation):
    with override_settings(  # a mail server that refuses connections
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=closed_port(),
    ):
        first = sweep(at(D(2027, 1, 7), 8))
    assert first["emails_sent"] == 0
    failed = Notification.objects.filter(channel=EMAIL, sent_at__isnull=True).order_by("id")
    assert failed.count() == 2
    # The first tried found the server down; the other waits with it, untried.
    assert [n.attempts for n in failed] == [1, 0]
    assert "Connection refused" in failed[0].last_error

    second = sweep(at(D(2027, 1, 7), 8, 5))

    assert second["emails_sent"] == 2
    assert len(mail.outbox) == 2


def test_it_fires_again_if_it_could_not_notify_anyone_when_it_fired(people, case, child):
    # Writing the notifications fails: the escalation must not be left behind without
    # them, or nobody would ever hear of it.
    with mock.patch(
        "cases.services.escalations.notify", side_effect=RuntimeError("database hiccup")
    ):
        with pytest.raises(RuntimeError):
            fire(case, FOUR_BY_23_DEC, now=at(D(2026, 12, 23), 11))
    assert not Escalation.objects.filter(case=case).exists()

    escalation = fire(case, [], now=at(D(2026, 12, 23), 11, 5))

    assert escalation is not None
    assert recipients(escalation, "fired") == both("colleague", "manager", "worker")


# --- The sweep and the evaluation, twice -------------------------------------------------


def test_it_sweeps_twice_to_the_same_result(people, case, escalation):
    first = sweep(at(D(2027, 1, 7), 8))
    history = escalation.history.count()
    rows = sorted(Notification.objects.values_list("pk", flat=True))

    second = sweep(at(D(2027, 1, 7), 8))

    assert first["changed"] == 1 and second == {"checked": 1, "changed": 0, "emails_sent": 0}
    assert fresh(escalation).history.count() == history
    assert sorted(Notification.objects.values_list("pk", flat=True)) == rows
    assert len(mail.outbox) == 2


def test_it_does_not_sweep_what_is_closed(people, case, escalation):
    hold(people, case, held_on=D(2027, 1, 5))

    assert sweep(at(D(2027, 1, 20), 8))["checked"] == 0
    assert fresh(escalation).state == Escalation.State.MET


# --- Bad input: a meeting offered as meeting an escalation --------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"held_on": D(2026, 12, 22)}, "held_on", id="held-before-it-fired"),
        pytest.param({"kind": CG}, "kind", id="not-the-kind-it-needs"),
        pytest.param({"held_on": D(2026, 12, 25)}, "held_on", id="held-in-the-future"),
    ],
)
def test_it_refuses_a_meeting_that_cannot_meet_the_escalation_offered(
    changes, field, people, case, escalation
):
    args = {"held_on": D(2026, 12, 23), "kind": MA, **changes}

    with pytest.raises(ValidationError) as exc:
        hold(people, case, meets=escalation, now=at(D(2026, 12, 24)), **args)

    assert list(exc.value.message_dict) == [field]
    assert not Meeting.objects.exists()
    assert not Meeting.history.exists()
    assert fresh(escalation).state == Escalation.State.OPEN


def test_it_refuses_a_meeting_offered_for_an_escalation_on_another_case(people, case, escalation):
    other = CaseFactory(team=case.team)

    with pytest.raises(ValidationError) as exc:
        hold(people, other, held_on=D(2026, 12, 24), meets=escalation, now=at(D(2026, 12, 24)))

    assert list(exc.value.message_dict) == ["meets"]
    assert not Meeting.objects.exists()


def test_it_meets_the_escalation_offered(people, case, escalation):
    meeting = hold(people, case, held_on=D(2026, 12, 24), meets=escalation)

    assert fresh(escalation).met_by == meeting


# --- At the same moment, on PostgreSQL ----------------------------------------------------


def _need_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL")


def _run_at_once(target, n=2):
    errors, results = [], []

    def run(i):
        try:
            results.append(target(i))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    return results


@pytest.mark.django_db(transaction=True)
def test_it_fires_once_when_two_evaluations_of_a_case_run_at_once(
    people, case, child, eager_celery
):
    _need_postgresql()
    worker = people["worker"]
    for day in FOUR_BY_23_DEC:
        RecordedVisitFactory(case=case, lead_worker=worker, planned_for=at(day))
    now = at(D(2026, 12, 23), 11)
    # Evaluations of one case wait for each other (the lock of its evaluation request):
    # both start together, the second sees what the first fired.
    barrier = threading.Barrier(2)

    def evaluate(i):
        barrier.wait(timeout=20)
        return visit_services.visits_evaluate_case(case.pk, now=now)

    with time_machine.travel(now, tick=False):
        results = _run_at_once(evaluate)

    assert sum(r is not None for r in results) == 1
    escalation = Escalation.objects.get(case=case)
    assert recipients(escalation, "fired") == both("colleague", "manager", "worker")
    assert sorted(m.to[0] for m in mail.outbox) == [
        "colleague@council.example",
        "manager@council.example",
        "worker@council.example",
    ]


@pytest.mark.django_db(transaction=True)
def test_it_marks_overdue_and_notifies_once_when_two_sweeps_run_at_once(people, case, eager_celery):
    _need_postgresql()
    escalations = [
        RuleEscalationFactory(case=c, trigger_date=D(2026, 12, 23))
        for c in [case, *(CaseFactory(team=case.team) for _ in range(5))]
    ]
    now = at(D(2027, 1, 7), 8)

    with time_machine.travel(now, tick=False):
        _run_at_once(lambda i: services.escalations_sweep(now=now), n=3)
        notifications_send_due(now=now)

    for escalation in escalations:
        assert fresh(escalation).state == Escalation.State.OVERDUE
        assert recipients(escalation, "overdue") == both("head", "manager")
    assert Counter(m.to[0] for m in mail.outbox) == {
        "head@council.example": 6,
        "manager@council.example": 6,
    }


@pytest.mark.django_db(transaction=True)
def test_it_sends_each_email_once_when_two_senders_run_at_once(people, case, escalation):
    _need_postgresql()
    with (
        time_machine.travel(at(D(2027, 1, 7), 8), tick=False),
        mock.patch("accounts.tasks.notifications_send.apply_async"),
    ):
        for escalation_ in Escalation.objects.all():
            services.escalation_refresh(escalation_.pk, now=at(D(2027, 1, 7), 8))
    assert Notification.objects.filter(channel=EMAIL, sent_at__isnull=True).count() == 2

    barrier = threading.Barrier(4)

    def send(i):
        barrier.wait(timeout=20)
        return notifications_send_due(now=at(D(2027, 1, 7), 8, 1))

    with time_machine.travel(at(D(2027, 1, 7), 8, 1), tick=False):
        sent = _run_at_once(send, n=4)

    assert sum(sent) == 2
    assert sorted(m.to[0] for m in mail.outbox) == [
        "head@council.example",
        "manager@council.example",
    ]


# --- Raised by hand (R2/R3 apply the same way) --------------------------------------------


def test_it_raises_a_non_compliance_escalation_by_hand(people, case, child):
    PlanFactory(case=case, child=child, start_date=D(2026, 2, 1))

    escalation = services.escalation_open(
        case=case,
        kind=Escalation.Kind.NON_COMPLIANCE,
        trigger_date=D(2026, 12, 23),
        reason="Father refuses to let the worker see the children's bedroom",
        actor=people["worker"],
        now=at(D(2026, 12, 23), 15),
    )

    assert (escalation.required_meeting, escalation.due_date) == (CG, D(2026, 12, 30))
    assert escalation.raised_by == people["worker"]
    assert recipients(escalation, "fired") == both("colleague", "manager", "worker")
    # Emails carry references, never what a person typed: the concern is on the case.
    sent = Notification.objects.filter(event_key=f"escalation:{escalation.pk}:fired")
    assert sent.exists()
    for notification in sent:
        assert "bedroom" not in notification.body and "Father" not in notification.body
        assert case.reference in notification.subject


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"reason": "  "}, "reason", id="no-reason"),
        pytest.param({"trigger_date": D(2026, 12, 24)}, "trigger_date", id="in-the-future"),
    ],
)
def test_it_refuses_a_non_compliance_escalation_with_bad_input(changes, field, people, case):
    args = {"trigger_date": D(2026, 12, 23), "reason": "Surface compliance only", **changes}

    with pytest.raises(ValidationError) as exc:
        services.escalation_open(
            case=case,
            kind=Escalation.Kind.NON_COMPLIANCE,
            actor=people["worker"],
            now=at(D(2026, 12, 23), 15),
            **args,
        )

    assert list(exc.value.message_dict) == [field]
    assert not Escalation.objects.exists()
    assert not Notification.objects.exists()


def test_it_refuses_a_non_compliance_escalation_from_someone_who_cannot_see_the_case(people, case):
    with pytest.raises(PermissionDenied):
        services.escalation_open(
            case=case,
            kind=Escalation.Kind.NON_COMPLIANCE,
            trigger_date=D(2026, 12, 23),
            reason="Concern",
            actor=people["south_manager"],
            now=at(D(2026, 12, 23), 15),
        )

    assert not Escalation.objects.exists()


@pytest.mark.parametrize(
    "state, due_offset, overdue",
    [
        ("open", -1, True),  # past its due date, not yet marked by the sweep
        ("overdue", -1, True),
        ("open", 0, False),  # due today: the deadline is the end of the day
        ("met", -1, False),
        ("cancelled", -1, False),
    ],
)
def test_an_escalation_is_overdue_when_active_and_past_its_due_date(db, state, due_offset, overdue):
    from tests.factories import EscalationFactory, MeetingFactory

    today = datetime.date(2026, 3, 11)
    extra = {}
    if state == "met":
        extra = {"met_by": MeetingFactory(held_on=today), "met_on": today}
    elif state == "cancelled":
        extra = {"cancelled_reason": "Raised in error"}
    escalation = EscalationFactory(
        state=state, **extra, due_date=today + datetime.timedelta(days=due_offset)
    )
    assert escalation.is_overdue(today) is overdue
    assert (
        Escalation.objects.filter(Escalation.overdue_q(today), pk=escalation.pk).exists() is overdue
    )

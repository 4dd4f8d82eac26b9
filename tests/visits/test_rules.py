"""R1-R3: the defaulted-visits rule as a table, and DESIGN.md's four examples end to end.

Every deadline below was counted by hand on a calendar of England and Wales bank
holidays (2026: Mon 31 Aug, Fri 25 Dec, Mon 28 Dec for Boxing Day; 2027: Fri 1 Jan,
Good Friday 26 Mar, Easter Monday 29 Mar). Day 0 is the day of the 4th default.
"""

import datetime

import pytest
import time_machine
from celery import current_app
from django.utils import timezone

from accounts import roles
from cases import services as case_services
from cases.models import Escalation, Meeting
from tests.factories import (
    CaseFactory,
    MembershipFactory,
    PersonFactory,
    PlanFactory,
    RecordedVisitFactory,
    UserFactory,
)
from visits import rules, services
from visits.models import Visit

D = datetime.date
MA = Meeting.Kind.MULTI_AGENCY
CG = Meeting.Kind.CORE_GROUP
HOUR = datetime.timedelta(hours=1)


def at(day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def manager(team):
    return UserFactory(username="manager", team=team, role=roles.TEAM_MANAGER)


@pytest.fixture
def case(worker):
    case = CaseFactory(team=worker.team, opened_on=D(2026, 1, 5))
    case.allocated_workers.add(worker)
    return case


@pytest.fixture
def child(case):
    return MembershipFactory(case=case, start_date=D(2026, 1, 5)).person


# --- The rule as a table ---------------------------------------------------------------
#
# Each event happens at 10:00 on its day; after each visit the rule is evaluated, as
# the task queued on commit would do, with `now` an hour later.


def dflt(day):
    return ("visit", day, Visit.Outcome.DEFAULTED)


def worker_cancelled(day):
    return ("visit", day, Visit.Outcome.CANCELLED_BY_WORKER)


def in_error(day):
    return ("in_error", day)


def meeting(day, kind=MA):
    return ("meeting", day, kind)


def manager_cancels(day):
    return ("cancel", day)


def four_defaults(day0):
    """Three defaults in the fortnight before `day0`, and the 4th on it."""
    return [dflt(day0 - datetime.timedelta(days=d)) for d in (13, 9, 5)] + [dflt(day0)]


def play(events, *, case, worker, manager):
    for event in events:
        kind, day = event[0], event[1]
        moment = at(day)
        with time_machine.travel(moment + HOUR, tick=False):
            if kind in ("visit", "in_error"):
                outcome = event[2] if kind == "visit" else Visit.Outcome.DEFAULTED
                RecordedVisitFactory(
                    case=case,
                    lead_worker=worker,
                    planned_for=moment,
                    outcome=outcome,
                    in_error=kind == "in_error",
                )
                services.visits_evaluate_case(case.pk, now=moment + HOUR)
            elif kind == "meeting":
                case_services.meeting_record(
                    actor=manager,
                    case=case,
                    kind=event[2],
                    held_on=day,
                    chair="Team manager",
                    decisions="Unannounced visits twice a week",
                    now=moment + HOUR,
                )
            elif kind == "cancel":
                escalation = Escalation.objects.get(case=case, state__in=Escalation.ACTIVE_STATES)
                case_services.escalation_cancel(
                    actor=manager,
                    escalation=escalation,
                    reason="Visits were recorded against the wrong family",
                    now=moment + HOUR,
                )


def add_plan(plan, *, case, child):
    if plan is None:
        return
    if plan == "unborn":
        unborn = PersonFactory(
            first_name="",
            last_name="Baby",
            date_of_birth=None,
            expected_date_of_birth=D(2026, 6, 1),
        )
        MembershipFactory(case=case, person=unborn, start_date=D(2026, 1, 5))
        PlanFactory(case=case, child=unborn, start_date=D(2026, 2, 16))
        return
    start, end = plan
    PlanFactory(case=case, child=child, start_date=start, end_date=end)


ON_PLAN = (D(2026, 2, 1), None)

RULE_TABLE = [
    # -- counting ------------------------------------------------------------------------
    pytest.param(
        [dflt(D(2026, 3, 2)), dflt(D(2026, 3, 4)), dflt(D(2026, 3, 6))],
        None,
        [],
        id="three-defaults-do-nothing",
    ),
    # 7 WD from Tue 10 Mar 2026: 11, 12, 13, 16, 17, 18, 19.
    pytest.param(
        [dflt(D(2026, 3, 2)), dflt(D(2026, 3, 4)), dflt(D(2026, 3, 6)), dflt(D(2026, 3, 10))],
        None,
        [(D(2026, 3, 10), MA, D(2026, 3, 19), "open")],
        id="the-fourth-fires",
    ),
    pytest.param(
        [*four_defaults(D(2026, 3, 10)), dflt(D(2026, 3, 11)), dflt(D(2026, 3, 12))],
        None,
        [(D(2026, 3, 10), MA, D(2026, 3, 19), "open")],
        id="more-defaults-while-it-is-open-fire-nothing-more",
    ),
    pytest.param(
        [
            dflt(D(2026, 3, 2)),
            dflt(D(2026, 3, 4)),
            dflt(D(2026, 3, 6)),
            worker_cancelled(D(2026, 3, 9)),
        ],
        None,
        [],
        id="a-worker-cancellation-does-not-count",
    ),
    pytest.param(
        [
            dflt(D(2026, 3, 2)),
            dflt(D(2026, 3, 4)),
            worker_cancelled(D(2026, 3, 5)),
            dflt(D(2026, 3, 6)),
            dflt(D(2026, 3, 10)),
        ],
        None,
        [(D(2026, 3, 10), MA, D(2026, 3, 19), "open")],
        id="a-worker-cancellation-is-skipped-in-the-count",
    ),
    pytest.param(
        [dflt(D(2026, 3, 2)), dflt(D(2026, 3, 4)), dflt(D(2026, 3, 6)), in_error(D(2026, 3, 9))],
        None,
        [],
        id="a-default-recorded-in-error-does-not-count",
    ),
    # Met on Thu 12 Mar; the default on Wed 11 (while open) is not counted again, so three
    # after the meeting do nothing and the 4th after it, Mon 23 Mar, fires:
    # 7 WD from Mon 23 Mar 2026: 24, 25, 26, 27, 30, 31, 1 Apr.
    pytest.param(
        [
            *four_defaults(D(2026, 3, 10)),
            dflt(D(2026, 3, 11)),
            meeting(D(2026, 3, 12)),
            dflt(D(2026, 3, 16)),
            dflt(D(2026, 3, 18)),
            dflt(D(2026, 3, 20)),
        ],
        None,
        [(D(2026, 3, 10), MA, D(2026, 3, 19), "met")],
        id="the-count-restarts-after-the-meeting-that-met-it",
    ),
    pytest.param(
        [
            *four_defaults(D(2026, 3, 10)),
            dflt(D(2026, 3, 11)),
            meeting(D(2026, 3, 12)),
            dflt(D(2026, 3, 16)),
            dflt(D(2026, 3, 18)),
            dflt(D(2026, 3, 20)),
            dflt(D(2026, 3, 23)),
        ],
        None,
        [(D(2026, 3, 10), MA, D(2026, 3, 19), "met"), (D(2026, 3, 23), MA, D(2026, 4, 1), "open")],
        id="the-fourth-after-the-meeting-fires-again",
    ),
    pytest.param(
        [*four_defaults(D(2026, 3, 10)), meeting(D(2026, 3, 12), kind=CG), dflt(D(2026, 3, 16))],
        None,
        [(D(2026, 3, 10), MA, D(2026, 3, 19), "open")],
        id="a-meeting-of-another-kind-neither-meets-it-nor-restarts-the-count",
    ),
    pytest.param(
        [
            *four_defaults(D(2026, 3, 10)),
            manager_cancels(D(2026, 3, 11)),
            dflt(D(2026, 3, 11)),
            dflt(D(2026, 3, 12)),
            dflt(D(2026, 3, 13)),
            dflt(D(2026, 3, 23)),
        ],
        None,
        [
            (D(2026, 3, 10), MA, D(2026, 3, 19), "cancelled"),
            (D(2026, 3, 23), MA, D(2026, 4, 1), "open"),
        ],
        id="after-a-manager-cancels-four-more-defaults-fire-again",
    ),
    # -- child protection plan on the trigger date ---------------------------------------
    # 3 WD from Tue 10 Mar 2026: 11, 12, 13.
    pytest.param(
        four_defaults(D(2026, 3, 10)),
        ON_PLAN,
        [(D(2026, 3, 10), CG, D(2026, 3, 13), "open")],
        id="plan-active-on-the-trigger-date-core-group-in-3",
    ),
    pytest.param(
        four_defaults(D(2026, 3, 10)),
        (D(2026, 3, 10), None),
        [(D(2026, 3, 10), CG, D(2026, 3, 13), "open")],
        id="plan-starting-on-the-trigger-date",
    ),
    pytest.param(
        four_defaults(D(2026, 3, 10)),
        (D(2026, 2, 1), D(2026, 3, 10)),
        [(D(2026, 3, 10), CG, D(2026, 3, 13), "open")],
        id="plan-ending-on-the-trigger-date",
    ),
    pytest.param(
        four_defaults(D(2026, 3, 10)),
        (D(2026, 2, 1), D(2026, 3, 9)),
        [(D(2026, 3, 10), MA, D(2026, 3, 19), "open")],
        id="plan-ended-the-day-before-multi-agency-in-7",
    ),
    pytest.param(
        four_defaults(D(2026, 3, 10)),
        (D(2026, 3, 11), None),
        [(D(2026, 3, 10), MA, D(2026, 3, 19), "open")],
        id="plan-starting-the-day-after-multi-agency-in-7",
    ),
    pytest.param(
        four_defaults(D(2026, 3, 10)),
        "unborn",
        [(D(2026, 3, 10), CG, D(2026, 3, 13), "open")],
        id="unborn-child-on-a-pre-birth-plan",
    ),
    # -- the calendar ---------------------------------------------------------------------
    # Fri 18 Dec 2026 (DESIGN.md): Mon 21, 22, 23, 24, [25, 28], 29, 30, 31.
    pytest.param(
        four_defaults(D(2026, 12, 18)),
        None,
        [(D(2026, 12, 18), MA, D(2026, 12, 31), "open")],
        id="friday-no-plan",
    ),
    pytest.param(
        four_defaults(D(2026, 12, 18)),
        ON_PLAN,
        [(D(2026, 12, 18), CG, D(2026, 12, 23), "open")],
        id="friday-plan",
    ),
    # Sat 19 Dec 2026: Mon 21 is day 1, as from the Friday.
    pytest.param(
        four_defaults(D(2026, 12, 19)),
        None,
        [(D(2026, 12, 19), MA, D(2026, 12, 31), "open")],
        id="saturday-no-plan",
    ),
    # Sat 27 Mar 2027 (DESIGN.md): [Sun 28, Easter Monday 29], Tue 30, Wed 31, Thu 1 Apr.
    pytest.param(
        four_defaults(D(2027, 3, 27)),
        ON_PLAN,
        [(D(2027, 3, 27), CG, D(2027, 4, 1), "open")],
        id="saturday-easter-plan",
    ),
    # Mon 31 Aug 2026, the late summer bank holiday: Tue 1 Sep is day 1.
    pytest.param(
        four_defaults(D(2026, 8, 31)),
        None,
        [(D(2026, 8, 31), MA, D(2026, 9, 9), "open")],
        id="bank-holiday-no-plan",
    ),
    pytest.param(
        four_defaults(D(2026, 8, 31)),
        ON_PLAN,
        [(D(2026, 8, 31), CG, D(2026, 9, 3), "open")],
        id="bank-holiday-plan",
    ),
    # Wed 23 Dec 2026 (DESIGN.md): 24, [25, 28], 29, 30, 31, [1 Jan], 4, 5, 6.
    pytest.param(
        four_defaults(D(2026, 12, 23)),
        None,
        [(D(2026, 12, 23), MA, D(2027, 1, 6), "open")],
        id="christmas-no-plan",
    ),
    pytest.param(
        four_defaults(D(2026, 12, 23)),
        ON_PLAN,
        [(D(2026, 12, 23), CG, D(2026, 12, 30), "open")],
        id="christmas-plan",
    ),
    # Christmas Day, Fri 25 Dec 2026: [Mon 28 Boxing Day substitute], 29, 30, 31, [1 Jan],
    # Mon 4, 5, 6, 7.
    pytest.param(
        four_defaults(D(2026, 12, 25)),
        ON_PLAN,
        [(D(2026, 12, 25), CG, D(2026, 12, 31), "open")],
        id="christmas-day-plan",
    ),
    pytest.param(
        four_defaults(D(2026, 12, 25)),
        None,
        [(D(2026, 12, 25), MA, D(2027, 1, 7), "open")],
        id="christmas-day-no-plan",
    ),
    # New Year's Eve, Thu 31 Dec 2026: [Fri 1 Jan], Mon 4, 5, 6, 7, 8, Mon 11, Tue 12.
    pytest.param(
        four_defaults(D(2026, 12, 31)),
        None,
        [(D(2026, 12, 31), MA, D(2027, 1, 12), "open")],
        id="new-years-eve-no-plan",
    ),
    pytest.param(
        four_defaults(D(2026, 12, 31)),
        ON_PLAN,
        [(D(2026, 12, 31), CG, D(2027, 1, 6), "open")],
        id="new-years-eve-plan",
    ),
    # Easter 2027: Maundy Thursday 25 Mar, [Good Friday 26, Sat, Sun, Easter Monday 29].
    pytest.param(
        four_defaults(D(2027, 3, 25)),
        ON_PLAN,
        [(D(2027, 3, 25), CG, D(2027, 4, 1), "open")],
        id="maundy-thursday-plan",
    ),
    # Good Friday: Tue 30, Wed 31, Thu 1, Fri 2, Mon 5, Tue 6, Wed 7 Apr.
    pytest.param(
        four_defaults(D(2027, 3, 26)),
        None,
        [(D(2027, 3, 26), MA, D(2027, 4, 7), "open")],
        id="good-friday-no-plan",
    ),
    pytest.param(
        four_defaults(D(2027, 3, 29)),
        ON_PLAN,
        [(D(2027, 3, 29), CG, D(2027, 4, 1), "open")],
        id="easter-monday-plan",
    ),
]


@pytest.mark.parametrize(("events", "plan", "expected"), RULE_TABLE)
def test_it_applies_the_defaulted_visits_rule(events, plan, expected, case, child, worker, manager):
    add_plan(plan, case=case, child=child)
    play(events, case=case, worker=worker, manager=manager)

    escalations = Escalation.objects.filter(
        case=case, kind=Escalation.Kind.DEFAULTED_VISITS
    ).order_by("id")
    assert [
        (e.trigger_date, e.required_meeting, e.due_date, e.state) for e in escalations
    ] == expected
    for e in escalations:
        on_plan = e.required_meeting == CG
        assert e.child_on_plan is on_plan
        assert e.working_days == (3 if on_plan else 7)
        assert e.trigger_count == 4
        assert e.raised_by is None


def test_it_fires_nothing_on_a_closed_case(case, child, worker, manager):
    play(four_defaults(D(2026, 3, 10))[:3], case=case, worker=worker, manager=manager)
    RecordedVisitFactory(case=case, lead_worker=worker, planned_for=at(D(2026, 3, 10)))
    type(case).objects.filter(pk=case.pk).update(
        status="closed", closed_on=D(2026, 3, 11), closure_reason="nfa"
    )

    assert services.visits_evaluate_case(case.pk, now=at(D(2026, 3, 11))) is None
    assert not Escalation.objects.filter(case=case).exists()


def test_it_counts_defaults_in_the_order_they_happened_not_the_order_recorded(case, child, worker):
    # Recorded late: the 4th to be entered happened first, so the 4th in time is 10 Mar.
    for day in (D(2026, 3, 10), D(2026, 3, 2), D(2026, 3, 4), D(2026, 3, 6)):
        RecordedVisitFactory(case=case, lead_worker=worker, planned_for=at(day))

    escalation = services.visits_evaluate_case(case.pk, now=at(D(2026, 3, 10), 12))

    assert escalation.trigger_date == D(2026, 3, 10)
    assert escalation.due_date == D(2026, 3, 19)


def test_it_evaluates_the_same_case_any_number_of_times_into_one_escalation(case, child, worker):
    for day in (D(2026, 3, 2), D(2026, 3, 4), D(2026, 3, 6), D(2026, 3, 10)):
        RecordedVisitFactory(case=case, lead_worker=worker, planned_for=at(day))
    now = at(D(2026, 3, 10), 12)

    first = services.visits_evaluate_case(case.pk, now=now)
    again = [services.visits_evaluate_case(case.pk, now=now) for _ in range(3)]

    assert first is not None and again == [None, None, None]
    assert Escalation.objects.filter(case=case).count() == 1


# --- DESIGN.md section 2: the four examples, end to end -----------------------------------


def log_default(*, worker, case, day, hour=10):
    occurred = at(day, hour)
    return services.visit_log(
        actor=worker,
        case=case,
        data=services.Outcome(
            outcome=Visit.Outcome.DEFAULTED,
            occurred_at=occurred,
            default_reason=Visit.DefaultReason.NO_ANSWER,
        ),
        now=occurred + HOUR,
    )


DESIGN_EXAMPLES = [
    pytest.param(D(2026, 12, 23), False, MA, 7, D(2027, 1, 6), id="wed-23-dec-no-plan"),
    pytest.param(D(2026, 12, 23), True, CG, 3, D(2026, 12, 30), id="wed-23-dec-plan"),
    pytest.param(D(2026, 12, 18), False, MA, 7, D(2026, 12, 31), id="fri-18-dec-no-plan"),
    pytest.param(D(2027, 3, 27), True, CG, 3, D(2027, 4, 1), id="sat-27-mar-2027-plan"),
]


@pytest.mark.parametrize(("fourth", "on_plan", "kind", "days", "due"), DESIGN_EXAMPLES)
def test_it_meets_the_design_examples_end_to_end(
    fourth, on_plan, kind, days, due, case, child, worker, django_capture_on_commit_callbacks
):
    if on_plan:
        PlanFactory(case=case, child=child, start_date=D(2026, 2, 1))
    days_before = (8, 6, 1)
    for n, before in enumerate(days_before, start=1):
        day = fourth - datetime.timedelta(days=before)
        with time_machine.travel(at(day, 11), tick=False):
            with django_capture_on_commit_callbacks() as queued:
                log_default(worker=worker, case=case, day=day)
        assert len(queued) == 1, "each recorded visit queues the rule's evaluation"
        assert services.visits_evaluate_case(case.pk, now=at(day, 11)) is None, n

    with time_machine.travel(at(fourth, 11), tick=False):
        with django_capture_on_commit_callbacks() as queued:
            log_default(worker=worker, case=case, day=fourth)
        assert len(queued) == 1
        escalation = services.visits_evaluate_case(case.pk, now=at(fourth, 11))

    assert escalation is not None
    assert escalation.trigger_date == fourth
    assert escalation.child_on_plan is on_plan
    assert escalation.required_meeting == kind
    assert escalation.working_days == days
    assert escalation.due_date == due
    assert escalation.state == Escalation.State.OPEN
    assert escalation.trigger_count == 4
    assert f"{fourth:%d %B %Y}" in escalation.reason


@pytest.fixture
def eager_celery(settings):
    # Read before the setting changes: Celery loads its settings on first use, and
    # loaded now it would keep "eager" for every test after this one.
    previous = current_app.conf.task_always_eager
    settings.CELERY_TASK_ALWAYS_EAGER = True
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = previous


def test_it_fires_from_the_task_queued_when_the_fourth_default_is_committed(
    case, child, worker, eager_celery, django_capture_on_commit_callbacks
):
    for day in (D(2026, 12, 15), D(2026, 12, 17), D(2026, 12, 21), D(2026, 12, 23)):
        with time_machine.travel(at(day, 11), tick=False):
            with django_capture_on_commit_callbacks(execute=True):
                log_default(worker=worker, case=case, day=day)

    escalation = Escalation.objects.get(case=case)
    assert (escalation.trigger_date, escalation.required_meeting, escalation.due_date) == (
        D(2026, 12, 23),
        MA,
        D(2027, 1, 6),
    )
    assert escalation.created_at == at(D(2026, 12, 23), 11)


def test_it_takes_day_0_from_the_local_date_of_the_fourth_default(case, child, worker):
    # 00:30 on Wed 10 Jun 2026 in London is 23:30 on Tue 9 Jun in UTC.
    for day in (D(2026, 6, 1), D(2026, 6, 3), D(2026, 6, 5)):
        RecordedVisitFactory(case=case, lead_worker=worker, planned_for=at(day))
    RecordedVisitFactory(case=case, lead_worker=worker, planned_for=at(D(2026, 6, 10), 0, 30))

    escalation = services.visits_evaluate_case(case.pk, now=at(D(2026, 6, 10), 9))

    # 7 WD from Wed 10 Jun 2026: 11, 12, 15, 16, 17, 18, 19.
    assert (escalation.trigger_date, escalation.due_date) == (D(2026, 6, 10), D(2026, 6, 19))


def test_it_does_not_fire_again_from_old_defaults_when_a_meeting_closes_it_meanwhile(
    case, child, worker, manager, monkeypatch
):
    # A meeting is recorded while an evaluation is under way, between its reading of
    # the count and its check for an active escalation. The evaluation must not take
    # the old defaults, counted before the meeting, as a new 4th default.
    for day in (D(2026, 3, 2), D(2026, 3, 4), D(2026, 3, 6), D(2026, 3, 10)):
        RecordedVisitFactory(case=case, lead_worker=worker, planned_for=at(day))
    first = services.visits_evaluate_case(case.pk, now=at(D(2026, 3, 10), 11))
    real_window_start = rules.count_window_start

    def window_start_then_meeting(case_):
        start = real_window_start(case_)
        if not Meeting.objects.exists():
            case_services.meeting_record(
                actor=manager,
                case=case,
                kind=MA,
                held_on=D(2026, 3, 12),
                chair="TM",
                decisions="Plan agreed",
                now=at(D(2026, 3, 12), 15),
            )
        return start

    monkeypatch.setattr(rules, "count_window_start", window_start_then_meeting)
    again = services.visits_evaluate_case(case.pk, now=at(D(2026, 3, 12), 15))

    assert again is None
    assert list(Escalation.objects.filter(case=case).values_list("pk", "state")) == [
        (first.pk, Escalation.State.MET)
    ]

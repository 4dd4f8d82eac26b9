"""Closing an escalation restarts the count: defaults logged meanwhile are looked at at once."""

import datetime

import pytest
from django.utils import timezone

from accounts import roles
from cases import rules as case_rules
from cases import services as case_services
from cases.models import Escalation
from safeguarding.celery import app as celery_app
from tests.factories import CaseFactory, EscalationFactory, MembershipFactory, UserFactory
from visits import services

D = datetime.date


def at(day, hour=10):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture
def eager():
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def test_it_fires_again_when_a_late_recorded_meeting_leaves_four_new_defaults(
    team, django_capture_on_commit_callbacks, eager
):
    worker = UserFactory(team=team)
    manager = UserFactory(team=team, role=roles.TEAM_MANAGER)
    case = CaseFactory(team=team, opened_on=D(2026, 1, 5))
    case.allocated_workers.add(worker)
    MembershipFactory(case=case, start_date=D(2026, 1, 5))
    now = at(D(2026, 3, 2), 17)

    def default(day):
        services.visit_log(
            actor=worker,
            case=case,
            now=now,
            data=services.Outcome(
                outcome="defaulted", default_reason="no_answer", occurred_at=at(day)
            ),
        )

    for day in (D(2026, 2, 2), D(2026, 2, 3), D(2026, 2, 4), D(2026, 2, 5)):
        default(day)
    first = services.visits_evaluate_case(case.pk, now=now)
    assert first is not None
    # Four more defaults after the meeting date, logged before the meeting is recorded.
    for day in (D(2026, 2, 11), D(2026, 2, 12), D(2026, 2, 16), D(2026, 2, 17)):
        default(day)
    assert services.visits_evaluate_case(case.pk, now=now) is None  # one is active
    with django_capture_on_commit_callbacks(execute=True):
        case_services.meeting_record(
            actor=manager,
            case=case,
            kind=first.required_meeting,
            held_on=D(2026, 2, 10),
            chair="Chair",
            decisions="x",
            now=now,
        )
    states = list(
        Escalation.objects.filter(case=case).order_by("id").values_list("state", "trigger_date")
    )
    assert states == [("met", D(2026, 2, 5)), ("overdue", D(2026, 2, 17))]


def test_it_reminds_on_the_deadline_day_if_the_day_before_was_missed(db):
    escalation = EscalationFactory.build(state="open", due_date=D(2026, 12, 30))
    assert case_rules.is_reminder_day(escalation, D(2026, 12, 29))  # the working day before
    assert not case_rules.is_reminder_day(escalation, D(2026, 12, 24))
    assert case_rules.is_reminder_day(escalation, D(2026, 12, 30))  # missed: still told
    assert not case_rules.is_reminder_day(escalation, D(2026, 12, 31))  # overdue instead


def test_it_tells_the_named_people_about_a_restricted_case_when_no_manager_is_named(team):
    worker = UserFactory(team=team)
    UserFactory(team=team, role=roles.TEAM_MANAGER)
    UserFactory(team=team, role=roles.SERVICE_MANAGER)
    case = CaseFactory(team=team, restricted=True, opened_on=D(2026, 1, 5))
    case.restricted_to.add(worker)
    recipients = case_services.escalations._escalation_recipients(case, overdue=True)
    assert recipients == [worker]

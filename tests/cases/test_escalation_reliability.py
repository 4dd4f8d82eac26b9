"""Escalations whatever happens around them (issue 12, items 1-3): the order things are
recorded in, a broker that is down, a message lost for days, a sweep item that raises,
a trigger withdrawn, sweeps run by hand.

Dates: a case opened Mon 5 Jan 2026, no plan; defaults on Mon 16, Wed 18 and Fri 20 Feb;
the fourth on Tue 24 Feb 2026 + 7 working days = due Thu 5 Mar 2026.
"""

import datetime
import io
import json
import logging

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import roles
from accounts.models import Notification
from cases import services
from cases.models import Escalation, Meeting
from common.models import SetAside, SweepRun
from tests.factories import (
    CaseFactory,
    MembershipFactory,
    RecordedVisitFactory,
    RuleEscalationFactory,
    UserFactory,
    VisitFactory,
)
from visits import rules as visit_rules
from visits import services as visit_services
from visits.models import EvaluationRequest, Visit

D = datetime.date
MA = Meeting.Kind.MULTI_AGENCY
THREE = (D(2026, 2, 16), D(2026, 2, 18), D(2026, 2, 20))
FOURTH = D(2026, 2, 24)


def at(day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def role_groups(db):
    for name in roles.ALL_ROLES:
        Group.objects.get_or_create(name=name)


@pytest.fixture
def people(role_groups, worker):
    return {
        "worker": worker,
        "manager": UserFactory(username="manager", team=worker.team, role=roles.TEAM_MANAGER),
    }


def _case(people, name="Ashworth"):
    case = CaseFactory(team=people["worker"].team, family_name=name, opened_on=D(2026, 1, 5))
    case.allocated_workers.add(people["worker"])
    MembershipFactory(case=case, start_date=D(2026, 1, 5))
    return case


@pytest.fixture
def case(people):
    return _case(people)


def defaults(case, worker, days):
    return [RecordedVisitFactory(case=case, lead_worker=worker, planned_for=at(d)) for d in days]


def record_default(worker, case, day, *, now):
    """The fourth default as a worker records it: through the service, which writes the
    evaluation request in its transaction."""
    visit = VisitFactory(case=case, lead_worker=worker, created_by=worker, planned_for=at(day))
    return visit_services.visit_record(
        actor=worker,
        visit=visit,
        data=visit_services.Outcome(
            outcome=Visit.Outcome.DEFAULTED, occurred_at=at(day), default_reason="no_answer"
        ),
        now=now,
    )


def evaluate(case, now):
    with time_machine.travel(now, tick=False):
        return visit_services.visits_evaluate_case(case.pk, now=now)


def heard(escalation):
    return sorted(
        Notification.objects.filter(event_key__startswith=f"escalation:{escalation.pk}:")
        .values_list("recipient__username", "event_key", "channel")
        .order_by("recipient__username", "event_key", "channel")
    )


# --- 1. Whatever the order of recording --------------------------------------------------


def test_a_default_recorded_after_the_meeting_was_held_is_met_at_once_and_nobody_is_told(
    people, case
):
    worker, manager = people["worker"], people["manager"]
    defaults(case, worker, THREE)
    meeting = services.meeting_record(
        actor=manager,
        case=case,
        kind=MA,
        held_on=D(2026, 2, 26),
        chair="Team manager",
        decisions="Unannounced visits",
        now=at(D(2026, 2, 26), 17),
    )
    # The fourth default, on 24 Feb, is only recorded on 27 Feb, after the meeting.
    record_default(worker, case, FOURTH, now=at(D(2026, 2, 27), 9))

    escalation = evaluate(case, at(D(2026, 2, 27), 9, 1))

    assert escalation is not None
    escalation.refresh_from_db()
    assert (escalation.state, escalation.met_by, escalation.met_on) == (
        Escalation.State.MET,
        meeting,
        D(2026, 2, 26),
    )
    assert escalation.trigger_date == FOURTH and escalation.due_date == D(2026, 3, 5)
    assert heard(escalation) == []  # no "fired", and above all no "overdue"
    # Nothing fires again for the same defaults, and a sweep leaves it as it is.
    assert evaluate(case, at(D(2026, 3, 9))) is None
    services.escalations_sweep(now=at(D(2026, 3, 9)))
    assert Escalation.objects.get(case=case).state == Escalation.State.MET
    assert Notification.objects.count() == 0


def test_a_default_recorded_late_after_a_meeting_held_past_its_deadline_is_met_late(people, case):
    defaults(case, people["worker"], (*THREE, FOURTH))
    services.meeting_record(
        actor=people["manager"],
        case=case,
        kind=MA,
        held_on=D(2026, 3, 10),
        chair="Team manager",
        decisions="Unannounced visits",
        now=at(D(2026, 3, 10), 17),
    )

    escalation = evaluate(case, at(D(2026, 3, 11)))

    assert escalation.state == Escalation.State.MET_LATE
    assert escalation.overdue_at is None
    assert heard(escalation) == []


def test_a_meeting_held_before_the_fourth_default_does_not_meet_it(people, case):
    defaults(case, people["worker"], THREE)
    services.meeting_record(
        actor=people["manager"],
        case=case,
        kind=MA,
        held_on=D(2026, 2, 23),
        chair="Team manager",
        decisions="Warn the family",
        now=at(D(2026, 2, 23), 17),
    )
    defaults(case, people["worker"], [FOURTH])

    escalation = evaluate(case, at(FOURTH, 12))

    assert escalation.state == Escalation.State.OPEN
    assert ("manager", f"escalation:{escalation.pk}:fired", "in_app") in heard(escalation)


# --- 1. Durable evaluation requests --------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_visit_recorded_while_the_broker_is_down_is_saved_and_answered_and_then_evaluated(
    people, broker_down, caplog
):
    case = _case(people)
    worker = people["worker"]
    defaults(case, worker, THREE)
    visit = VisitFactory(case=case, lead_worker=worker, created_by=worker, planned_for=at(FOURTH))
    api = APIClient()
    api.force_authenticate(worker)

    with caplog.at_level(logging.WARNING, logger="visits.services"):
        response = api.post(
            f"/api/v1/visits/{visit.pk}/record/",
            {"outcome": "defaulted", "occurred_at": at(FOURTH), "default_reason": "no_answer"},
            format="json",
        )

    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "defaulted"
    assert "visits sweep will evaluate it" in caplog.text
    assert Visit.objects.filter(case=case, outcome="defaulted").count() == 4
    request = EvaluationRequest.objects.get(case=case)
    assert request.requested_at is not None
    assert not Escalation.objects.filter(case=case).exists()

    # The broker is down for a week: the first sweep after it still evaluates the case.
    broker_down.undo()
    later = timezone.now() + datetime.timedelta(days=7)
    result = visit_services.visits_sweep(now=later)

    assert result["fired"] == 1
    escalation = Escalation.objects.get(case=case)
    assert escalation.trigger_date == FOURTH
    request.refresh_from_db()
    assert request.requested_at is None and request.evaluated_at == later


def test_a_request_whose_message_was_lost_is_evaluated_by_the_next_sweep_however_old(people, case):
    worker = people["worker"]
    defaults(case, worker, THREE)
    # Recorded in this test's transaction: the task sent after commit never goes, as
    # when a broker loses the message.
    record_default(worker, case, FOURTH, now=at(FOURTH, 12))
    assert EvaluationRequest.objects.get(case=case).requested_at == at(FOURTH, 12)

    result = visit_services.visits_sweep(now=at(D(2026, 3, 3), 9))  # a week later

    assert result == {"cases": 1, "fired": 1, "failed": 0, "set_aside": 0}
    assert Escalation.objects.get(case=case).state == Escalation.State.OPEN
    assert EvaluationRequest.objects.get(case=case).requested_at is None
    # Nothing waits now: the next sweep evaluates nothing.
    assert visit_services.visits_sweep(now=at(D(2026, 3, 3), 9, 5))["cases"] == 0


def test_marking_a_visit_in_error_and_closing_an_escalation_ask_for_an_evaluation(people, case):
    worker, manager = people["worker"], people["manager"]
    visits = defaults(case, worker, (*THREE, FOURTH))
    escalation = evaluate(case, at(FOURTH, 12))
    assert EvaluationRequest.objects.get(case=case).requested_at is None

    services.escalation_cancel(
        actor=manager, escalation=escalation, reason="Family moved", now=at(FOURTH, 15)
    )
    assert EvaluationRequest.objects.get(case=case).requested_at == at(FOURTH, 15)
    visit_services.visits_sweep(now=at(FOURTH, 16))

    visit_services.visit_mark_in_error(
        actor=worker, visit=visits[0], reason="Wrong family", now=at(FOURTH, 17)
    )
    assert EvaluationRequest.objects.get(case=case).requested_at == at(FOURTH, 17)


# --- 3. Sweeps that isolate failures -------------------------------------------------------


def test_one_case_that_raises_does_not_stop_the_visits_sweep(people, monkeypatch, caplog):
    worker = people["worker"]
    cases = [_case(people, name) for name in ("Ashworth", "Brennan", "Carter")]
    for case in cases:
        defaults(case, worker, THREE)
        record_default(worker, case, FOURTH, now=at(FOURTH, 12))
    broken = cases[1]
    verdict = visit_rules.defaulted_visits_verdict

    def failing_for_one(case):
        if case.pk == broken.pk:
            raise RuntimeError("corrupt row")
        return verdict(case)

    monkeypatch.setattr(visit_rules, "defaulted_visits_verdict", failing_for_one)
    now = at(FOURTH, 13)
    with caplog.at_level(logging.ERROR, logger="safeguarding.sweeps"):
        result = visit_services.visits_sweep(now=now)

    assert result == {"cases": 2, "fired": 2, "failed": 1, "set_aside": 1}
    assert f"sweep visits: {broken.pk} set aside after failure 1" in caplog.text
    assert set(Escalation.objects.values_list("case_id", flat=True)) == {
        cases[0].pk,
        cases[2].pk,
    }
    held = SetAside.objects.get(sweep="visits", object_id=broken.pk)
    assert held.next_try_at == now + datetime.timedelta(minutes=1)
    assert "corrupt row" in held.last_error
    assert EvaluationRequest.objects.get(case=broken).requested_at is not None  # still waits
    run = SweepRun.objects.get(name="visits")
    assert run.last_succeeded_at is not None and run.last_result["set_aside"] == 1

    # Before its next try it is left alone; failing again, it waits twice as long.
    assert visit_services.visits_sweep(now=now + datetime.timedelta(seconds=30))["cases"] == 0
    visit_services.visits_sweep(now=now + datetime.timedelta(minutes=1))
    held.refresh_from_db()
    assert held.failures == 2
    assert held.next_try_at == now + datetime.timedelta(minutes=3)

    monkeypatch.setattr(visit_rules, "defaulted_visits_verdict", verdict)  # repaired
    result = visit_services.visits_sweep(now=now + datetime.timedelta(minutes=3))

    assert result == {"cases": 1, "fired": 1, "failed": 0, "set_aside": 0}
    held.refresh_from_db()
    assert held.cleared_at == now + datetime.timedelta(minutes=3)
    assert Escalation.objects.filter(case=broken).count() == 1


def test_one_escalation_that_raises_does_not_stop_the_escalations_sweep(
    people, monkeypatch, caplog
):
    escalations = [
        RuleEscalationFactory(case=_case(people, name), trigger_date=D(2026, 2, 24))
        for name in ("Ashworth", "Brennan", "Carter", "Dodd")
    ]
    broken = escalations[2]
    state_on = services.escalations.rules.state_on

    def failing_for_one(escalation, today):
        if escalation.pk == broken.pk:
            raise RuntimeError("bad calendar row")
        return state_on(escalation, today)

    monkeypatch.setattr(services.escalations.rules, "state_on", failing_for_one)
    now = at(D(2026, 3, 9), 8)  # all four went overdue after Thu 5 Mar
    with time_machine.travel(now, tick=False), caplog.at_level(logging.ERROR):
        result = services.escalations_sweep(now=now)

    assert result == {"checked": 4, "changed": 3, "failed": 1, "set_aside": 1}
    states = {e.pk: e.state for e in Escalation.objects.all()}
    assert states == {
        e.pk: (Escalation.State.OPEN if e == broken else Escalation.State.OVERDUE)
        for e in escalations
    }
    assert SetAside.objects.get(sweep="escalations", object_id=broken.pk).failures == 1

    monkeypatch.setattr(services.escalations.rules, "state_on", state_on)
    later = now + datetime.timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        result = services.escalations_sweep(now=later)

    assert result == {"checked": 4, "changed": 1, "failed": 0, "set_aside": 0}
    assert Escalation.objects.get(pk=broken.pk).state == Escalation.State.OVERDUE


def test_the_sweeps_run_by_hand_for_a_given_moment(people, case):
    worker = people["worker"]
    defaults(case, worker, THREE)
    record_default(worker, case, FOURTH, now=at(FOURTH, 12))
    out = io.StringIO()

    call_command("visits_sweep", "--now", "2026-02-24T13:00", stdout=out)

    assert json.loads(out.getvalue()) == {"cases": 1, "failed": 0, "fired": 1, "set_aside": 0}
    escalation = Escalation.objects.get(case=case)
    out = io.StringIO()
    with time_machine.travel(at(D(2026, 3, 6), 8), tick=False):
        call_command("escalations_sweep", "--now", "2026-03-06T08:00", stdout=out)

    assert json.loads(out.getvalue())["changed"] == 1
    escalation.refresh_from_db()
    assert escalation.state == Escalation.State.OVERDUE
    assert escalation.overdue_at == at(D(2026, 3, 6), 8)
    assert SweepRun.objects.get(name="escalations").last_for == at(D(2026, 3, 6), 8)
    with pytest.raises(CommandError, match="not a date and time"):
        call_command("escalations_sweep", "--now", "next tuesday")


# --- 2. A withdrawn trigger ------------------------------------------------------------------


@pytest.fixture
def fired(people, case):
    """Four defaults, the fourth on 24 Feb: fired at noon that day."""
    visits = defaults(case, people["worker"], (*THREE, FOURTH))
    escalation = evaluate(case, at(FOURTH, 12))
    return escalation, visits


def test_a_fourth_default_marked_in_error_withdraws_the_trigger_for_a_manager_to_decide(
    people, case, fired
):
    escalation, visits = fired
    worker, manager = people["worker"], people["manager"]
    reason = escalation.reason
    now = at(D(2026, 2, 25), 9)
    visit_services.visit_mark_in_error(
        actor=worker, visit=visits[3], reason="Another family's visit", now=now
    )

    assert evaluate(case, now) is None
    evaluate(case, now + datetime.timedelta(minutes=5))  # again: nothing more happens

    escalation.refresh_from_db()
    assert escalation.state == Escalation.State.OPEN  # stands until a manager decides
    assert escalation.trigger_withdrawn_at == now
    assert escalation.trigger_withdrawn_count == 3
    assert escalation.awaits_decision
    assert escalation.reason == reason  # what fired it is kept as it was
    withdrawn = [row for row in heard(escalation) if ":withdrawn:" in row[1]]
    assert [(user, channel) for user, _, channel in withdrawn] == [
        ("manager", "email"),
        ("manager", "in_app"),
    ]
    note = Notification.objects.get(recipient=manager, channel="email", event_key=withdrawn[0][1])
    assert case.reference in note.body and reason not in note.body

    with pytest.raises(PermissionDenied):
        services.escalation_keep(actor=worker, escalation=escalation, reason="Keep", now=now)
    with pytest.raises(ValidationError):
        services.escalation_keep(actor=manager, escalation=escalation, reason=" ", now=now)
    kept = services.escalation_keep(
        actor=manager,
        escalation=escalation,
        reason="Three defaults in a week is still a pattern",
        now=now + datetime.timedelta(hours=1),
    )
    assert kept.kept_by == manager and kept.kept_at == now + datetime.timedelta(hours=1)
    assert kept.is_active and not kept.awaits_decision
    assert kept.history.first().history_user == manager
    with pytest.raises(ValidationError, match="nothing to decide"):
        services.escalation_keep(actor=manager, escalation=kept, reason="Again", now=now)


def test_a_fourth_default_recorded_again_as_the_workers_cancellation_withdraws_the_trigger(
    people, case, fired
):
    escalation, visits = fired
    worker = people["worker"]
    now = at(D(2026, 2, 25), 9)
    visit_services.visit_record(
        actor=worker,
        visit=visits[3],
        data=visit_services.Outcome(
            outcome=Visit.Outcome.CANCELLED_BY_WORKER, occurred_at=at(FOURTH), default_reason=""
        ),
        now=now,
    )
    visit_services.visits_sweep(now=now)

    escalation.refresh_from_db()
    assert escalation.awaits_decision and escalation.trigger_withdrawn_count == 3

    # A manager may cancel it instead; then the count restarts from its trigger date.
    services.escalation_cancel(
        actor=people["manager"], escalation=escalation, reason="Trigger withdrawn", now=now
    )
    escalation.refresh_from_db()
    assert escalation.state == Escalation.State.CANCELLED


def test_a_new_default_restores_a_withdrawn_trigger(people, case, fired):
    escalation, visits = fired
    worker = people["worker"]
    now = at(D(2026, 2, 25), 9)
    visit_services.visit_mark_in_error(actor=worker, visit=visits[3], reason="Wrong", now=now)
    evaluate(case, now)
    record_default(worker, case, D(2026, 2, 26), now=at(D(2026, 2, 26), 12))

    evaluate(case, at(D(2026, 2, 26), 12, 1))

    escalation.refresh_from_db()
    assert escalation.trigger_withdrawn_at is None and not escalation.awaits_decision
    assert escalation.is_active
    assert Escalation.objects.filter(case=case).count() == 1


def test_the_case_page_and_the_api_offer_the_manager_the_decision(client, people, case, fired):
    escalation, visits = fired
    visit_services.visit_mark_in_error(
        actor=people["worker"], visit=visits[3], reason="Wrong", now=at(D(2026, 2, 25), 9)
    )
    evaluate(case, at(D(2026, 2, 25), 9))
    keep_url = f"/cases/{case.pk}/escalations/{escalation.pk}/keep/"

    client.force_login(people["worker"])
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Trigger withdrawn" in page and keep_url not in page
    assert client.get(keep_url).status_code == 403
    api = APIClient()
    api.force_authenticate(people["worker"])
    api_url = f"/api/v1/cases/{case.pk}/escalations/{escalation.pk}/keep/"
    assert api.post(api_url, {"reason": "Keep"}, format="json").status_code == 403

    client.force_login(people["manager"])
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert keep_url in page
    assert "Trigger withdrawn: keep or cancel" in client.get("/cases/escalations/").content.decode()
    assert client.post(keep_url, {"reason": ""}).status_code == 400  # the error, shown
    response = client.post(keep_url, {"reason": "Still a pattern <b>here</b>"})
    assert response.status_code == 302
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Still a pattern &lt;b&gt;here&lt;/b&gt;" in page and keep_url not in page

    api.force_authenticate(people["manager"])
    again = api.post(api_url, {"reason": "Keep"}, format="json")
    assert again.status_code == 400 and "nothing to decide" in again.content.decode()
    body = api.get(f"/api/v1/cases/{case.pk}/escalations/{escalation.pk}/").json()
    assert body["kept_reason"] == "Still a pattern <b>here</b>"
    assert body["trigger_withdrawn_count"] == 3

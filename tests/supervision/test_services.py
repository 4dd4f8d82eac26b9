import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from supervision import queries, services
from supervision.models import Action, Amendment, CaseDiscussion, Decision, SupervisionSession
from supervision.signals import decision_recorded
from tests.factories import CaseDiscussionFactory, SupervisionSessionFactory

from .conftest import NOW, TODAY

D = datetime.date
ANSWERS = services.Answers(
    lived_experience="Kayden is often hungry and looks after his sister in the evenings.",
    answers={
        "assumptions": "That mum is coping; the school's reports say otherwise.",
        "child_life": "Cold house, little food, shouting at night.",
    },
    not_discussed={"assessment_changed", "other_source", "other_explanations", "hypothesis"},
)


@pytest.fixture
def planned(people):
    return services.session_create(
        actor=people["supervisor"], supervisee=people["worker"], date=D(2026, 3, 10), now=NOW
    )


def test_it_needs_a_reason_and_a_new_date_to_cancel(people, planned, frozen):
    with pytest.raises(ValidationError) as exc:
        services.session_cancel(
            actor=people["supervisor"], session=planned, reason=" ", new_date=None, now=NOW
        )
    assert set(exc.value.message_dict) == {"reason", "new_date"}
    planned.refresh_from_db()
    assert planned.status == "planned"


def test_it_books_the_new_date_and_counts_the_cancellation(people, planned, frozen):
    session = services.session_cancel(
        actor=people["supervisor"],
        session=planned,
        reason="Called to court",
        new_date=D(2026, 3, 17),
        now=NOW,
    )
    assert session.status == "cancelled" and session.cancelled_by == people["supervisor"]
    assert session.rearranged_as.date == D(2026, 3, 17)
    assert session.rearranged_as.status == "planned"
    counts = queries.cancellation_counts(people["manager"], since=D(2026, 1, 1))
    assert [(c["supervisor"], c["cancelled"]) for c in counts] == [(people["supervisor"].pk, 1)]
    assert session.history.first().history_user == people["supervisor"]


def test_it_refuses_a_cancellation_from_the_supervisee(people, planned, frozen):
    with pytest.raises(PermissionDenied):
        services.session_cancel(
            actor=people["worker"], session=planned, reason="Busy", new_date=D(2026, 3, 17), now=NOW
        )


def test_it_needs_each_question_answered_or_marked_not_discussed(people, planned, cp_case, frozen):
    data = services.Answers(
        lived_experience="", answers={"assumptions": "x"}, not_discussed={"assumptions"}
    )
    with pytest.raises(ValidationError) as exc:
        services.discussion_create(
            actor=people["supervisor"], session=planned, case=cp_case, data=data, now=NOW
        )
    errors = exc.value.message_dict
    assert "lived_experience" in errors and "both" in errors["assumptions"][0]
    assert "mark it not discussed" in errors["hypothesis"][0]
    assert not CaseDiscussion.objects.exists()


def test_it_refuses_a_case_the_supervisee_cannot_see(people, planned, frozen):
    from tests.factories import CaseFactory

    elsewhere = CaseFactory(team=people["service_manager"].team)
    with pytest.raises(ValidationError):
        services.discussion_create(
            actor=people["manager"], session=planned, case=elsewhere, data=ANSWERS, now=NOW
        )


def test_it_records_decisions_with_reasons_and_sends_the_signal(people, planned, cp_case, frozen):
    received = []
    decision_recorded.connect(
        lambda **kw: received.append(kw), weak=False, dispatch_uid="test-decision"
    )
    try:
        discussion = services.discussion_create(
            actor=people["supervisor"], session=planned, case=cp_case, data=ANSWERS, now=NOW
        )
        with pytest.raises(ValidationError):
            services.decision_record(
                actor=people["supervisor"],
                discussion=discussion,
                decision="Strategy discussion",
                reasons="",
                now=NOW,
            )
        decision = services.decision_record(
            actor=people["supervisor"],
            discussion=discussion,
            decision="Strategy discussion",
            reasons="Bruising seen by school",
            now=NOW,
        )
    finally:
        decision_recorded.disconnect(dispatch_uid="test-decision")
    assert decision.case == cp_case and Decision.objects.count() == 1
    assert received[0]["decision"] == decision and received[0]["actor"] == people["supervisor"]


def test_it_runs_an_action_through_its_lifecycle(people, planned, cp_case, frozen):
    discussion = services.discussion_create(
        actor=people["supervisor"], session=planned, case=cp_case, data=ANSWERS, now=NOW
    )
    with pytest.raises(ValidationError) as exc:
        services.action_create(
            actor=people["supervisor"],
            discussion=discussion,
            description="",
            owner=people["outsider"],
            due_date=None,
            now=NOW,
        )
    assert set(exc.value.message_dict) == {"description", "owner", "due_date"}
    action = services.action_create(
        actor=people["supervisor"],
        discussion=discussion,
        description="Ask the GP about the missed appointments",
        owner=people["worker"],
        due_date=D(2026, 3, 9),
        now=NOW,
    )
    mine = list(queries.my_actions(people["worker"]))
    assert mine == [action] and mine[0].is_overdue(TODAY)
    with pytest.raises(PermissionDenied):
        services.action_set_status(
            actor=people["colleague"], action=action, status="completed", now=NOW
        )
    services.action_set_status(actor=people["worker"], action=action, status="in_progress", now=NOW)
    done = services.action_complete(actor=people["worker"], action=action, now=NOW)
    assert done.status == "completed" and done.completed_by == people["worker"]
    assert done.completed_at == NOW and not done.is_overdue(TODAY)
    assert list(queries.my_actions(people["worker"])) == []
    reopened = services.action_set_status(
        actor=people["supervisor"], action=action, status="open", now=NOW
    )
    assert reopened.completed_at is None and reopened.completed_by is None
    statuses = [h.status for h in Action.history.filter(id=action.pk).order_by("history_id")]
    assert statuses == ["open", "in_progress", "completed", "open"]


def test_it_lets_only_the_supervisor_sign_off_a_held_session(people, planned, frozen):
    with pytest.raises(ValidationError):
        services.session_sign_off(actor=people["supervisor"], session=planned, now=NOW)
    services.session_hold(actor=people["supervisor"], session=planned, now=NOW)
    with pytest.raises(PermissionDenied):
        services.session_sign_off(actor=people["manager"], session=planned, now=NOW)
    session = services.session_sign_off(actor=people["supervisor"], session=planned, now=NOW)
    assert session.signed_off_at == NOW and session.signed_off_by == people["supervisor"]
    with pytest.raises(ValidationError):
        services.session_sign_off(actor=people["supervisor"], session=planned, now=NOW)


def test_it_needs_a_reason_to_change_a_signed_off_record_and_keeps_it(people, cp_case, frozen):
    session = SupervisionSessionFactory(
        supervisee=people["worker"],
        supervisor=people["supervisor"],
        date=D(2026, 3, 9),
        signed_off_at=NOW,
        signed_off_by=people["supervisor"],
    )
    discussion = CaseDiscussionFactory(session=session, case=cp_case)
    with pytest.raises(ValidationError) as exc:
        services.session_update(
            actor=people["supervisor"],
            session=session,
            wellbeing_support="Debrief after the incident",
            now=NOW,
        )
    assert "reason" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.decision_record(
            actor=people["supervisor"],
            discussion=discussion,
            decision="Legal planning",
            reasons="No change",
            now=NOW,
        )
    services.session_update(
        actor=people["supervisor"],
        session=session,
        wellbeing_support="Debrief after the incident",
        reason="Support agreed was left out",
        now=NOW,
    )
    services.decision_record(
        actor=people["supervisor"],
        discussion=discussion,
        decision="Legal planning",
        reasons="No change",
        reason="Decision made but not typed up",
        now=NOW,
    )
    assert list(Amendment.objects.values_list("reason", flat=True)) == [
        "Support agreed was left out",
        "Decision made but not typed up",
    ]
    latest = SupervisionSession.history.filter(id=session.pk).first()
    assert latest.history_change_reason == "After sign-off: Support agreed was left out"
    assert latest.wellbeing_support == "Debrief after the incident"


def test_it_does_not_cancel_a_session_with_cases_discussed(people, planned, cp_case, frozen):
    services.discussion_create(
        actor=people["supervisor"], session=planned, case=cp_case, data=ANSWERS, now=NOW
    )
    with pytest.raises(ValidationError):
        services.session_cancel(
            actor=people["supervisor"],
            session=planned,
            reason="x",
            new_date=D(2026, 3, 20),
            now=NOW,
        )

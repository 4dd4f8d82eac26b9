"""Escalations under /api/v1/cases/{id}/escalations/ and meetings under /api/v1/meetings/:
read them, raise one by hand, cancel one with a reason (managers), meet one with a
meeting. The same access policy as the pages; 400 with the field named; R4 on the case."""

import datetime

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import roles
from accounts.models import AccessLog
from cases.models import Case, Escalation, Meeting
from safeguarding.workdays import add_working_days
from tests.factories import (
    AgencyFactory,
    CaseFactory,
    EscalationFactory,
    MeetingFactory,
    MembershipFactory,
    PlanFactory,
    TeamFactory,
    UserFactory,
)

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2026, 3, 10, 16, 0))  # a Tuesday


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def api(worker):
    return api_for(worker)


@pytest.fixture
def manager(team):
    return UserFactory(username="manager", team=team, role=roles.TEAM_MANAGER)


@pytest.fixture
def case(worker):
    case = CaseFactory(team=worker.team, family_name="Ashworth", opened_on=D(2026, 1, 5))
    case.allocated_workers.add(worker)
    return case


@pytest.fixture
def child(case):
    return MembershipFactory(case=case).person


@pytest.fixture
def other_case(db):
    return CaseFactory(team=TeamFactory(name="South", code="south"), family_name="Brennan")


@pytest.fixture
def escalation(case):
    return EscalationFactory(case=case, trigger_date=D(2026, 3, 5), due_date=D(2026, 3, 16))


def raise_url(case):
    return f"/api/v1/cases/{case.pk}/escalations/"


def cancel_url(case, escalation):
    return f"/api/v1/cases/{case.pk}/escalations/{escalation.pk}/cancel/"


def meeting(case, **changes):
    return {
        "case": case.pk,
        "kind": "multi_agency",
        "held_on": "2026-03-09",
        "chair": "Grace Okafor",
        "decisions": "Unannounced visits twice a week",
        **changes,
    }


# --- Reading --------------------------------------------------------------------------


def test_it_shows_active_escalations_on_the_case_and_every_one_in_the_list(api, case, escalation):
    cancelled = EscalationFactory(
        case=case,
        kind="non_compliance",
        state="cancelled",
        cancelled_reason="Raised on the wrong case",
        trigger_date=D(2026, 2, 2),
        due_date=D(2026, 2, 11),
    )

    [shown] = api.get(f"/api/v1/cases/{case.pk}/").json()["active_escalations"]
    assert {
        k: shown[k]
        for k in (
            "id",
            "kind",
            "state",
            "required_meeting",
            "due_date",
            "child_on_plan",
            "trigger_date",
            "reason",
        )
    } == {
        "id": escalation.pk,
        "kind": "defaulted_visits",
        "state": "open",
        "required_meeting": "multi_agency",
        "due_date": "2026-03-16",
        "child_on_plan": False,
        "trigger_date": "2026-03-05",
        "reason": "4 visits defaulted",
    }
    assert shown["required_meeting_display"] == "Multi-agency meeting"

    response = api.get(raise_url(case))
    assert response.status_code == 200
    assert [row["id"] for row in response.json()] == [escalation.pk, cancelled.pk]
    assert response.json()[1]["cancelled_reason"] == "Raised on the wrong case"
    assert AccessLog.objects.filter(what="API read escalations", case_id=case.pk).count() == 1


# --- Raising by hand ------------------------------------------------------------------


def test_it_raises_a_non_compliance_escalation_by_hand(api, worker, case, child):
    response = api.post(
        raise_url(case),
        {"trigger_date": "2026-03-06", "reason": "Mother refuses to let us see the bedrooms"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "non_compliance"
    assert body["state"] == "open"
    assert body["raised_by"] == worker.pk
    assert body["child_on_plan"] is False
    assert body["required_meeting"] == "multi_agency"
    assert body["due_date"] == add_working_days(D(2026, 3, 6), 7).isoformat()
    escalation = Escalation.objects.get(pk=body["id"])
    assert escalation.history.first().history_user == worker
    active = api.get(f"/api/v1/cases/{case.pk}/").json()["active_escalations"]
    assert [e["id"] for e in active] == [escalation.pk]


def test_a_child_on_a_plan_makes_it_a_core_group_in_three_working_days(api, case, child):
    PlanFactory(case=case, child=child, start_date=D(2026, 2, 1))

    response = api.post(
        raise_url(case),
        {"trigger_date": "2026-03-06", "reason": "Missed the core group"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["child_on_plan"], body["required_meeting"], body["working_days"]) == (
        True,
        "core_group",
        3,
    )
    assert body["due_date"] == "2026-03-11"


def test_it_answers_409_when_one_is_already_active(api, case):
    first = api.post(
        raise_url(case), {"trigger_date": "2026-03-06", "reason": "First"}, format="json"
    )
    assert first.status_code == 201

    second = api.post(
        raise_url(case), {"trigger_date": "2026-03-09", "reason": "Second"}, format="json"
    )

    assert second.status_code == 409
    assert "already an open or overdue non-compliance escalation" in second.json()["detail"]
    assert Escalation.objects.filter(case=case).count() == 1


def test_it_refuses_to_raise_with_bad_input(api, case):
    for body, field in [
        ({"trigger_date": "2026-03-11", "reason": "Tomorrow"}, "trigger_date"),
        ({"trigger_date": "2026-03-06"}, "reason"),
        ({"trigger_date": "2026-03-06", "reason": "   "}, "reason"),
        ({"trigger_date": "2026-03-06", "reason": "x" * 2001}, "reason"),
        ({"trigger_date": "last week", "reason": "Concern"}, "trigger_date"),
    ]:
        response = api.post(raise_url(case), body, format="json")
        assert response.status_code == 400, body
        assert list(response.json()) == [field], body
    assert not Escalation.objects.exists()


def test_it_refuses_to_raise_on_a_closed_case(api, case):
    Case.objects.filter(pk=case.pk).update(
        status=Case.Status.CLOSED, closed_on=D(2026, 3, 9), closure_reason="nfa"
    )

    response = api.post(
        raise_url(case), {"trigger_date": "2026-03-06", "reason": "Concern"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["This case is closed: reopen it before raising an escalation"]
    }


# --- Cancelling -----------------------------------------------------------------------


def test_only_a_manager_cancels_and_only_with_a_reason(api, manager, case, escalation):
    response = api.post(
        cancel_url(case, escalation), {"reason": "Family moved away"}, format="json"
    )
    assert response.status_code == 403
    escalation.refresh_from_db()
    assert escalation.state == "open"

    boss = api_for(manager)
    response = boss.post(cancel_url(case, escalation), {}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["reason"]
    response = boss.post(cancel_url(case, escalation), {"reason": "  "}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["reason"]

    response = boss.post(
        cancel_url(case, escalation), {"reason": "Family moved away"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "cancelled"
    assert response.json()["cancelled_reason"] == "Family moved away"
    escalation.refresh_from_db()
    assert escalation.cancelled_by == manager
    assert escalation.history.first().history_user == manager
    assert api.get(f"/api/v1/cases/{case.pk}/").json()["active_escalations"] == []

    again = boss.post(cancel_url(case, escalation), {"reason": "Again"}, format="json")
    assert again.status_code == 400
    assert again.json() == {"non_field_errors": ["This escalation is already cancelled"]}


def test_it_cancels_only_an_escalation_on_the_case_in_the_url(manager, case, team):
    elsewhere = EscalationFactory(case=CaseFactory(team=team))

    response = api_for(manager).post(
        cancel_url(case, elsewhere), {"reason": "Wrong"}, format="json"
    )

    assert response.status_code == 404
    elsewhere.refresh_from_db()
    assert elsewhere.state == "open"


# --- Meetings -------------------------------------------------------------------------


def test_a_meeting_recorded_through_the_api_meets_the_escalation(api, worker, case, escalation):
    agency = AgencyFactory(name="Northtown Primary")

    response = api.post(
        "/api/v1/meetings/",
        meeting(
            case,
            meets=escalation.pk,
            staff_attendees=[worker.pk],
            agencies=[agency.pk],
            other_attendees="Dawn Ashworth (mother)",
            actions="School to report attendance",
        ),
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["escalations_met"] == [escalation.pk]
    assert (body["staff_attendees"], body["agencies"]) == ([worker.pk], [agency.pk])
    escalation.refresh_from_db()
    assert escalation.state == "met"
    assert escalation.met_by_id == body["id"]
    saved = Meeting.objects.get(pk=body["id"])
    assert saved.created_by == worker
    assert saved.history.first().history_user == worker
    assert api.get(f"/api/v1/cases/{case.pk}/").json()["active_escalations"] == []
    assert api.get(f"/api/v1/meetings/{saved.pk}/").json()["decisions"] == (
        "Unannounced visits twice a week"
    )


def test_it_refuses_a_meeting_held_before_the_escalation_it_is_offered_to_meet(
    api, case, escalation
):
    response = api.post(
        "/api/v1/meetings/", meeting(case, held_on="2026-03-04", meets=escalation.pk), format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "held_on": ["A meeting held before the escalation fired (05/03/2026) cannot meet it"]
    }
    assert not Meeting.objects.exists()
    escalation.refresh_from_db()
    assert escalation.state == "open"


def test_it_refuses_a_meeting_with_bad_input(api, case, escalation, other_case):
    theirs = EscalationFactory(case=other_case)
    cancelled = EscalationFactory(
        case=case, kind="non_compliance", state="cancelled", cancelled_reason="Wrong case"
    )
    for body, field in [
        (meeting(case, kind="core_group", meets=escalation.pk), "kind"),
        (meeting(case, held_on="2026-03-11"), "held_on"),
        (meeting(case, held_on="2025-12-01"), "held_on"),
        (meeting(case, decisions="x" * 10001), "decisions"),
        (meeting(case, chair=""), "chair"),
        (meeting(case, kind="tea_party"), "kind"),
        (meeting(case, meets=theirs.pk), "meets"),
        (meeting(case, meets=cancelled.pk), "meets"),
    ]:
        response = api.post("/api/v1/meetings/", body, format="json")
        assert response.status_code == 400, body
        assert list(response.json()) == [field], (body, response.json())
    assert not Meeting.objects.exists()


def test_it_lists_meetings_filtered_by_case(api, worker, case, other_case):
    mine = MeetingFactory(case=case)
    same_team = MeetingFactory(case=CaseFactory(team=worker.team))
    MeetingFactory(case=other_case)

    def ids(params=None):
        response = api.get("/api/v1/meetings/", params or {})
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids() == {mine.pk, same_team.pk}
    assert ids({"case": case.pk}) == {mine.pk}
    assert ids({"case": other_case.pk}) == set()


# --- Outsiders and deletes ------------------------------------------------------------


def test_outsiders_get_404_on_everything(team, case, escalation, other_case):
    their_meeting = MeetingFactory(case=case)
    restricted = CaseFactory(team=team, restricted=True)
    hidden = EscalationFactory(case=restricted)
    outsider = UserFactory(team=TeamFactory(name="West", code="west"), role=roles.TEAM_MANAGER)
    colleague = UserFactory(team=team, role=roles.TEAM_MANAGER)

    for user, target_case, target in (
        (outsider, case, escalation),
        (colleague, restricted, hidden),
    ):
        client = api_for(user)
        responses = [
            client.get(raise_url(target_case)),
            client.post(
                raise_url(target_case),
                {"trigger_date": "2026-03-06", "reason": "Concern"},
                format="json",
            ),
            client.post(cancel_url(target_case, target), {"reason": "No"}, format="json"),
            client.post("/api/v1/meetings/", meeting(target_case), format="json"),
            client.get(f"/api/v1/cases/{target_case.pk}/"),
        ]
        assert [r.status_code for r in responses] == [404] * 5, user
        assert not AccessLog.objects.filter(user=user, outcome="shown").exists()
    outsider_client = api_for(outsider)
    assert outsider_client.get(f"/api/v1/meetings/{their_meeting.pk}/").status_code == 404
    assert outsider_client.get("/api/v1/meetings/").json()["count"] == 0
    # Offering their own meeting to meet an escalation on a case they cannot see:
    south_worker = UserFactory(team=other_case.team)
    response = api_for(south_worker).post(
        "/api/v1/meetings/",
        meeting(other_case, held_on="2026-03-06", meets=escalation.pk),
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["meets"]

    assert Escalation.objects.filter(state="open").count() == 2
    assert not Meeting.objects.exclude(pk=their_meeting.pk).exists()


def test_it_has_no_delete_or_put(api, manager, case, escalation):
    meeting_row = MeetingFactory(case=case)

    for url in (
        f"/api/v1/meetings/{meeting_row.pk}/",
        raise_url(case),
        cancel_url(case, escalation),
    ):
        assert api.delete(url).status_code == 405, url
        assert api.put(url, {}, format="json").status_code == 405, url
    # A meeting is corrected with PATCH (tests/cases/test_corrections.py), never replaced.
    assert (
        api.patch(f"/api/v1/meetings/{meeting_row.pk}/", {"chair": "x"}, format="json").status_code
        == 200
    )
    assert Escalation.objects.filter(pk=escalation.pk, state="open").exists()
    assert Meeting.objects.filter(pk=meeting_row.pk).exists()

"""Visits over REST under /api/v1/visits/: plan, record what happened (children seen,
observations), mark in error. The case access policy, 400s with the field named, the
API user on every history row, and the defaulted-visits rule reached from the API."""

import datetime

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AccessLog
from cases.models import Case, Escalation, Membership
from safeguarding.workdays import add_working_days
from tests.factories import (
    CaseFactory,
    MembershipFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
    VisitFactory,
)
from visits import services, tasks
from visits.models import ChildSeen, Observation, Visit

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2026, 3, 10, 16, 0))  # a Tuesday


def at(day: datetime.date, hour: int = 10) -> str:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour))).isoformat()


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
def case(worker):
    case = CaseFactory(team=worker.team, family_name="Ashworth", opened_on=D(2026, 1, 5))
    case.allocated_workers.add(worker)
    return case


@pytest.fixture
def child(case):
    return MembershipFactory(case=case, person=PersonFactory(first_name="Ella")).person


@pytest.fixture
def mother(case):
    return MembershipFactory(
        case=case,
        relationship=Membership.Relationship.MOTHER,
        person=PersonFactory(first_name="Dawn"),
    ).person


@pytest.fixture
def visit(case, worker):
    return VisitFactory(
        case=case,
        lead_worker=worker,
        created_by=worker,
        planned_for=timezone.make_aware(datetime.datetime(2026, 3, 9, 10)),
    )


@pytest.fixture
def other_case(db):
    return CaseFactory(team=TeamFactory(name="South", code="south"), family_name="Brennan")


@pytest.fixture
def evaluate_now(monkeypatch):
    """Run the rule evaluation a recorded visit queues, in the test, instead of a worker."""
    monkeypatch.setattr(
        tasks.visits_evaluate_case, "delay", lambda case_id: services.visits_evaluate_case(case_id)
    )


def completed(child, **changes):
    body = {
        "outcome": "completed",
        "occurred_at": at(D(2026, 3, 9)),
        "children": [
            {
                "child": child.pk,
                "seen": True,
                "seen_alone": True,
                "bedroom_seen": True,
                "child_views": "I like my new school",
                "presentation": "Clean, chatty, hungry",
            }
        ],
        "notes": "Home warm, food in the fridge",
    }
    return {**body, **changes}


def record(api, visit, body):
    return api.post(f"/api/v1/visits/{visit.pk}/record/", body, format="json")


def assert_not_recorded(visit):
    visit.refresh_from_db()
    assert visit.outcome == Visit.Outcome.PLANNED
    assert visit.notes == ""
    assert not ChildSeen.objects.filter(visit=visit).exists()
    assert not Observation.objects.filter(visit=visit).exists()


# --- Plan and record ----------------------------------------------------------------------


def test_it_plans_and_records_a_visit_with_the_children_seen_and_what_was_observed(
    api, worker, case, child, mother, django_capture_on_commit_callbacks
):
    response = api.post(
        "/api/v1/visits/",
        {
            "case": case.pk,
            "planned_for": at(D(2026, 3, 9)),
            "kind": "home",
            "announced": False,
            "purpose": "Check on Ella after school's report",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    planned = response.json()
    assert planned["outcome"] == "planned"
    assert planned["announced"] is False
    assert planned["lead_worker"] == worker.pk
    assert planned["children"] == [] and planned["observations"] == []
    visit = Visit.objects.get(pk=planned["id"])
    assert visit.created_by == worker
    assert visit.history.first().history_user == worker

    with django_capture_on_commit_callbacks() as queued:
        response = record(
            api,
            visit,
            completed(
                child,
                present_members=[mother.pk, child.pk],
                others_present="A man in a blue tracksuit who left when we arrived",
                parent_report="Dawn said Ella had been at her nan's all week",
                observations=[
                    {
                        "adult": mother.pk,
                        "child": child.pk,
                        "what_was_seen": "Ella flinched when Dawn raised her voice",
                        "analysis": "Fearful response; discuss in supervision",
                    }
                ],
            ),
        )

    assert response.status_code == 200, response.content
    assert len(queued) == 1, "the defaulted-visits rule is queued once it commits"
    body = response.json()
    assert body["outcome"] == "completed"
    assert body["occurred_at"].startswith("2026-03-09T10:00")
    assert set(body["present_members"]) == {mother.pk, child.pk}
    assert body["parent_report"] == "Dawn said Ella had been at her nan's all week"
    [seen] = body["children"]
    assert (
        seen["child"],
        seen["child_name"],
        seen["seen"],
        seen["seen_alone"],
        seen["bedroom_seen"],
        seen["child_views"],
    ) == (child.pk, child.full_name, True, True, True, "I like my new school")
    [observation] = body["observations"]
    assert (observation["adult"], observation["child"]) == (mother.pk, child.pk)
    assert observation["what_was_seen"] == "Ella flinched when Dawn raised her voice"

    visit.refresh_from_db()
    assert visit.outcome_recorded_by == worker
    assert visit.history.first().history_user == worker
    assert ChildSeen.objects.get(visit=visit).history.first().history_user == worker
    assert Observation.objects.get(visit=visit).history.first().history_user == worker

    detail = api.get(f"/api/v1/visits/{visit.pk}/")
    assert detail.status_code == 200
    assert detail.json()["children"] == body["children"]
    assert detail.json()["observations"] == body["observations"]


def test_it_records_a_visit_after_the_fact_with_the_real_time(api, visit, child):
    response = record(api, visit, completed(child, occurred_at=at(D(2026, 3, 6), 15)))

    assert response.status_code == 200, response.content
    visit.refresh_from_db()
    assert timezone.localtime(visit.occurred_at) == timezone.make_aware(
        datetime.datetime(2026, 3, 6, 15)
    )


def test_it_plans_a_visit_led_by_a_colleague_with_a_joint_visitor(api, worker, case):
    colleague = UserFactory(team=worker.team)

    response = api.post(
        "/api/v1/visits/",
        {
            "case": case.pk,
            "planned_for": at(D(2026, 3, 12)),
            "lead_worker": colleague.pk,
            "joint_worker": worker.pk,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    assert (response.json()["lead_worker"], response.json()["joint_worker"]) == (
        colleague.pk,
        worker.pk,
    )


def test_it_lists_visits_filtered_by_case_and_outcome(api, worker, case, visit, other_case):
    other_visit = VisitFactory(case=CaseFactory(team=worker.team), lead_worker=worker)
    defaulted = VisitFactory(
        case=case,
        lead_worker=worker,
        outcome="defaulted",
        default_reason="no_answer",
        occurred_at=NOW,
    )
    VisitFactory(case=other_case)

    def ids(params=None):
        response = api.get("/api/v1/visits/", params or {})
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids() == {visit.pk, defaulted.pk, other_visit.pk}
    assert ids({"case": case.pk}) == {visit.pk, defaulted.pk}
    assert ids({"case": case.pk, "outcome": "defaulted"}) == {defaulted.pk}
    assert ids({"case": other_case.pk}) == set()
    assert api.get("/api/v1/visits/", {"outcome": "maybe"}).status_code == 400


def test_it_writes_every_read_of_a_visit_to_the_access_log(api, worker, case, visit):
    assert api.get(f"/api/v1/visits/{visit.pk}/").status_code == 200

    log = AccessLog.objects.get()
    assert (log.user, log.case_id, log.what) == (worker, case.pk, "API read visit")
    api.get("/api/v1/visits/", {"case": case.pk})
    assert AccessLog.objects.filter(what="API list visit", case_id=case.pk).count() == 1


def test_it_marks_a_visit_in_error_with_a_reason_and_keeps_it(api, worker, visit, child):
    url = f"/api/v1/visits/{visit.pk}/in_error/"
    response = api.post(url, {}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["reason"]

    response = api.post(url, {"reason": "Wrong family"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["in_error"] is True
    visit.refresh_from_db()
    assert (visit.in_error, visit.in_error_by) == (True, worker)
    assert visit.history.first().history_user == worker
    assert api.get("/api/v1/visits/", {"in_error": "true"}).json()["count"] == 1
    response = record(api, visit, completed(child))
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["This visit was recorded in error"]}


def test_it_has_no_delete_or_put(api, visit):
    url = f"/api/v1/visits/{visit.pk}/"

    assert api.delete(url).status_code == 405
    assert api.put(url, {}, format="json").status_code == 405
    assert api.patch(url, {"notes": "x"}, format="json").status_code == 405
    assert Visit.objects.filter(pk=visit.pk).exists()


# --- R1 from the API ----------------------------------------------------------------------


def test_four_defaulted_visits_recorded_through_the_api_open_an_escalation_on_the_case(
    api, worker, case, evaluate_now, django_capture_on_commit_callbacks
):
    days = [D(2026, 3, 2), D(2026, 3, 3), D(2026, 3, 4), D(2026, 3, 5)]
    for number, day in enumerate(days, start=1):
        planned = api.post(
            "/api/v1/visits/", {"case": case.pk, "planned_for": at(day)}, format="json"
        )
        assert planned.status_code == 201, planned.content
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(
                f"/api/v1/visits/{planned.json()['id']}/record/",
                {"outcome": "defaulted", "default_reason": "no_answer", "occurred_at": at(day)},
                format="json",
            )
        assert response.status_code == 200, response.content
        active = api.get(f"/api/v1/cases/{case.pk}/").json()["active_escalations"]
        assert len(active) == (1 if number == 4 else 0), number

    [shown] = api.get(f"/api/v1/cases/{case.pk}/").json()["active_escalations"]
    escalation = Escalation.objects.get(case=case)
    assert shown["id"] == escalation.pk
    assert shown["kind"] == "defaulted_visits"
    assert shown["state"] == "open"
    assert shown["required_meeting"] == "multi_agency"
    assert shown["child_on_plan"] is False
    assert shown["trigger_date"] == "2026-03-05"
    assert shown["due_date"] == add_working_days(D(2026, 3, 5), 7).isoformat() == "2026-03-16"
    assert shown["reason"].startswith("4 visits defaulted since 05 January 2026")
    assert shown["raised_by"] is None

    listed = api.get(f"/api/v1/cases/{case.pk}/escalations/")
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()] == [escalation.pk]

    listed_cases = api.get("/api/v1/cases/").json()["results"]
    assert [row["active_escalations"][0]["id"] for row in listed_cases] == [escalation.pk]


def test_a_visit_the_worker_cancelled_is_not_a_default(
    api, worker, case, evaluate_now, django_capture_on_commit_callbacks
):
    for day in (D(2026, 3, 2), D(2026, 3, 3), D(2026, 3, 4), D(2026, 3, 5)):
        visit = VisitFactory(
            case=case,
            lead_worker=worker,
            planned_for=timezone.make_aware(datetime.datetime.combine(day, datetime.time(10))),
        )
        with django_capture_on_commit_callbacks(execute=True):
            response = record(api, visit, {"outcome": "cancelled", "occurred_at": at(day)})
        assert response.status_code == 200, response.content

    assert api.get(f"/api/v1/cases/{case.pk}/").json()["active_escalations"] == []
    assert not Escalation.objects.exists()


# --- 400 with the field named -------------------------------------------------------------


def test_it_refuses_an_outcome_in_the_future(api, visit, child):
    response = record(api, visit, completed(child, occurred_at=at(D(2026, 3, 11))))

    assert response.status_code == 400
    assert list(response.json()) == ["occurred_at"]
    assert_not_recorded(visit)


def test_it_refuses_a_child_seen_alone_without_being_seen(api, visit, child):
    response = record(
        api,
        visit,
        completed(
            child,
            children=[
                {"child": child.pk, "seen": False, "seen_alone": True, "reason_not_seen": "Asleep"}
            ],
        ),
    )

    assert response.status_code == 400
    assert response.json() == {
        "children": {"0": {"seen_alone": ["A child cannot be seen alone without being seen"]}}
    }
    assert_not_recorded(visit)


def test_it_refuses_a_child_or_person_not_on_the_visits_case(api, visit, child, other_case):
    stranger = MembershipFactory(case=other_case).person

    response = record(
        api,
        visit,
        completed(
            child,
            children=[
                {"child": child.pk, "seen": True},
                {"child": stranger.pk, "seen": True},
            ],
        ),
    )
    assert response.status_code == 400
    assert response.json() == {
        "children": {"1": {"child": [f"Person {stranger.pk} is not on this case"]}}
    }

    response = record(api, visit, completed(child, present_members=[stranger.pk]))
    assert response.status_code == 400
    assert list(response.json()) == ["present_members"]

    response = record(
        api,
        visit,
        completed(child, observations=[{"adult": stranger.pk, "what_was_seen": "Shouting"}]),
    )
    assert response.status_code == 400
    assert response.json() == {
        "observations": {"0": {"adult": [f"Person {stranger.pk} is not on this case"]}}
    }
    assert_not_recorded(visit)


def test_it_refuses_a_child_not_in_the_household_that_day(api, case, visit, child):
    newborn = MembershipFactory(case=case, start_date=D(2026, 3, 10)).person
    elsewhere = MembershipFactory(case=case, lives_in_household=False).person

    for person in (newborn, elsewhere):
        response = record(
            api,
            visit,
            completed(
                child,
                children=[
                    {"child": child.pk, "seen": True},
                    {"child": person.pk, "seen": True},
                ],
            ),
        )

        assert response.status_code == 400
        assert response.json() == {
            "children": {
                "1": {
                    "non_field_errors": [
                        f"{person.full_name} was not living in the household on 09/03/2026"
                    ]
                }
            }
        }
    assert_not_recorded(visit)


def test_it_refuses_a_child_listed_twice(api, visit, child):
    response = record(
        api,
        visit,
        completed(
            child,
            children=[
                {"child": child.pk, "seen": True},
                {"child": child.pk, "seen": False, "reason_not_seen": "Asleep"},
            ],
        ),
    )

    assert response.status_code == 400
    assert list(response.json()) == ["children"]
    assert_not_recorded(visit)


def test_it_refuses_a_default_without_a_reason_and_a_child_seen_on_a_default(api, visit, child):
    response = record(api, visit, {"outcome": "defaulted", "occurred_at": at(D(2026, 3, 9))})
    assert response.status_code == 400
    assert list(response.json()) == ["default_reason"]

    response = record(api, visit, completed(child, outcome="defaulted", default_reason="no_answer"))
    assert response.status_code == 400
    assert list(response.json()) == ["children"]

    response = record(api, visit, {"outcome": "planned", "occurred_at": at(D(2026, 3, 9))})
    assert response.status_code == 400
    assert list(response.json()) == ["outcome"]
    assert_not_recorded(visit)


def test_it_refuses_text_over_the_limit(api, case, visit, child):
    response = record(api, visit, completed(child, notes="x" * 10001))
    assert response.status_code == 400
    assert list(response.json()) == ["notes"]

    response = record(
        api,
        visit,
        completed(child, children=[{"child": child.pk, "seen": True, "child_views": "x" * 5001}]),
    )
    assert response.status_code == 400
    assert response.json() == {
        "children": {"0": {"child_views": ["Ensure this field has no more than 5000 characters."]}}
    }
    assert_not_recorded(visit)

    response = api.post(
        "/api/v1/visits/",
        {"case": case.pk, "planned_for": at(D(2026, 3, 12)), "purpose": "x" * 2001},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["purpose"]


def test_it_refuses_a_visit_on_a_closed_case(api, worker, case, visit, child):
    Case.objects.filter(pk=case.pk).update(
        status=Case.Status.CLOSED, closed_on=D(2026, 3, 9), closure_reason="nfa"
    )

    response = api.post(
        "/api/v1/visits/", {"case": case.pk, "planned_for": at(D(2026, 3, 12))}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["This case is closed: reopen it before planning a visit"]
    }
    assert Visit.objects.count() == 1

    response = record(api, visit, completed(child))
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["This case is closed: reopen it before recording a visit"]
    }
    assert_not_recorded(visit)


def test_it_refuses_a_visit_before_the_case_opened_or_led_by_someone_who_cannot_see_it(api, case):
    response = api.post(
        "/api/v1/visits/", {"case": case.pk, "planned_for": at(D(2025, 12, 1))}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["planned_for"]

    outsider = UserFactory(team=TeamFactory(name="West", code="west"))
    response = api.post(
        "/api/v1/visits/",
        {"case": case.pk, "planned_for": at(D(2026, 3, 12)), "joint_worker": outsider.pk},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["joint_worker"]
    assert not Visit.objects.exists()


# --- Outsiders ----------------------------------------------------------------------------


def test_outsiders_get_404_on_everything(worker, case, visit, child):
    stranger = UserFactory(team=TeamFactory(name="West", code="west"))
    outsider = api_for(stranger)
    restricted = CaseFactory(team=worker.team, restricted=True)
    hidden = VisitFactory(case=restricted)
    colleague = api_for(UserFactory(team=worker.team))

    for client, target in ((outsider, visit), (colleague, hidden)):
        base = f"/api/v1/visits/{target.pk}/"
        responses = [
            client.get(base),
            client.post(f"{base}record/", completed(child), format="json"),
            client.post(f"{base}in_error/", {"reason": "Wrong family"}, format="json"),
            client.post(
                "/api/v1/visits/",
                {"case": target.case_id, "planned_for": at(D(2026, 3, 12))},
                format="json",
            ),
        ]
        assert [r.status_code for r in responses] == [404] * 4
        assert target.pk not in {r["id"] for r in client.get("/api/v1/visits/").json()["results"]}
        assert client.get("/api/v1/visits/", {"case": target.case_id}).json()["count"] == 0

    assert_not_recorded(visit)
    assert Visit.objects.count() == 2
    assert not AccessLog.objects.filter(case_id=restricted.pk, outcome="shown").exists()
    assert not AccessLog.objects.filter(user=stranger, outcome="shown").exists()

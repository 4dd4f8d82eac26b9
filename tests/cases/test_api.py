"""The REST API under /api/v1/: the same access policy as the pages, services for writes."""

import datetime

import pytest
from rest_framework.test import APIClient

from accounts import roles
from accounts.models import AccessLog
from cases.models import Address, Case, ChildProtectionPlan, Hazard, Membership, Person
from tests.factories import (
    AddressFactory,
    CaseFactory,
    HazardFactory,
    MembershipFactory,
    PersonFactory,
    PlanFactory,
    TeamFactory,
    UserFactory,
    api_token_for,
)

VALID_NHS = "9434765919"
VALID_UPN = "H801200001001"


def api_for(user, *, token=False) -> APIClient:
    client = APIClient()
    if token:
        key = api_token_for(user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    else:
        client.force_login(user)
    return client


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def api(worker):
    return api_for(worker)


@pytest.fixture
def other_team(db):
    return TeamFactory(name="South Assessment", code="south")


@pytest.fixture
def case(team, worker):
    case = CaseFactory(team=team, family_name="Ashworth")
    case.allocated_workers.add(worker)
    return case


@pytest.fixture
def other_case(other_team):
    return CaseFactory(team=other_team, family_name="Brennan")


@pytest.fixture
def child(case):
    return MembershipFactory(case=case, person=PersonFactory(first_name="Ella")).person


# --- Access -----------------------------------------------------------------------------


def test_it_lists_only_the_cases_the_policy_allows(team, worker, api, case, other_case):
    hidden = CaseFactory(team=team, restricted=True)
    named = CaseFactory(team=team, restricted=True)
    named.restricted_to.add(worker)

    assert ids(api.get("/api/v1/cases/")) == {case.pk, named.pk}
    assert other_case.pk not in ids(api.get("/api/v1/cases/"))
    assert hidden.pk not in ids(api.get("/api/v1/cases/"))


def test_it_lets_a_service_manager_list_every_case_that_is_not_restricted(team, case, other_case):
    restricted = CaseFactory(team=team, restricted=True)
    manager = UserFactory(role=roles.SERVICE_MANAGER, team=TeamFactory())

    listed = ids(api_for(manager).get("/api/v1/cases/"))

    assert {case.pk, other_case.pk} <= listed
    assert restricted.pk not in listed


def test_it_answers_404_for_a_case_outside_the_policy(team, api, other_case):
    restricted = CaseFactory(team=team, restricted=True)

    for pk in (other_case.pk, restricted.pk, 999999):
        response = api.get(f"/api/v1/cases/{pk}/")
        assert response.status_code == 404
        assert "Brennan" not in response.content.decode()


def test_it_refuses_anonymous_requests(case):
    response = APIClient().get("/api/v1/cases/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert "results" not in response.json()


def test_it_refuses_a_user_with_no_role(team, case):
    user = UserFactory(team=team)
    user.groups.clear()
    client = api_for(user)

    assert client.get("/api/v1/cases/").status_code == 403
    assert client.post("/api/v1/people/", {"last_name": "Evans"}, format="json").status_code == 403
    assert not Person.objects.filter(last_name="Evans").exists()


def test_it_accepts_token_authentication(worker, case):
    client = api_for(worker, token=True)

    assert ids(client.get("/api/v1/cases/")) == {case.pk}


def test_it_filters_cases_by_status_reference_and_team(team, api, case):
    closed = CaseFactory(
        team=team,
        status=Case.Status.CLOSED,
        closed_on=datetime.date(2026, 3, 1),
        closure_reason="nfa",
    )

    assert ids(api.get("/api/v1/cases/", {"status": "closed"})) == {closed.pk}
    assert ids(api.get("/api/v1/cases/", {"reference": case.reference})) == {case.pk}
    assert ids(api.get("/api/v1/cases/", {"team": team.pk})) == {case.pk, closed.pk}
    assert ids(api.get("/api/v1/cases/", {"team": team.pk + 1000})) == set()


def test_it_lists_only_records_on_cases_the_user_may_see(api, case, other_case, child):
    theirs = MembershipFactory(case=other_case)
    AddressFactory(case=case)
    their_address = AddressFactory(case=other_case)
    plan = PlanFactory(case=case, child=child)
    their_plan = PlanFactory(case=other_case, child=theirs.person)
    HazardFactory(case=case)
    their_hazard = HazardFactory(case=other_case)

    for url, mine, hidden in [
        ("/api/v1/memberships/", set(case.memberships.values_list("pk", flat=True)), theirs),
        ("/api/v1/addresses/", set(case.addresses.values_list("pk", flat=True)), their_address),
        ("/api/v1/cp-plans/", {plan.pk}, their_plan),
        ("/api/v1/hazards/", set(case.hazards.values_list("pk", flat=True)), their_hazard),
    ]:
        assert ids(api.get(url)) == mine, url
        assert api.get(f"{url}{hidden.pk}/").status_code == 404, url

    people = ids(api.get("/api/v1/people/"))
    assert people == {child.pk}
    assert api.get(f"/api/v1/people/{theirs.person.pk}/").status_code == 404


def test_it_shows_hazards_on_people_currently_on_a_visible_case(api, case, other_case, child):
    on_child = HazardFactory(case=None, person=child, kind=Hazard.Kind.INFECTION)
    stranger = HazardFactory(case=None, person=PersonFactory(), kind=Hazard.Kind.WEAPON)
    gone = MembershipFactory(case=case, end_date=datetime.date(2026, 2, 1))
    left_hazard = HazardFactory(case=None, person=gone.person)

    listed = ids(api.get("/api/v1/hazards/"))
    assert on_child.pk in listed
    assert stranger.pk not in listed
    assert left_hazard.pk not in listed
    assert ids(api.get("/api/v1/hazards/", {"case": case.pk})) == {on_child.pk}


def test_it_does_not_reveal_through_a_filter_who_is_on_a_case_the_user_cannot_see(
    api, case, other_case, child
):
    MembershipFactory(case=other_case, person=child)
    HazardFactory(case=None, person=child)

    assert ids(api.get("/api/v1/people/", {"case": other_case.pk})) == set()
    assert ids(api.get("/api/v1/hazards/", {"case": other_case.pk})) == set()
    assert ids(api.get("/api/v1/memberships/", {"case": other_case.pk})) == set()


def test_it_answers_404_for_a_write_against_a_case_the_user_cannot_see(api, other_case):
    person = api.post("/api/v1/people/", {"last_name": "Carter"}, format="json").json()

    responses = [
        api.post(
            "/api/v1/memberships/",
            {
                "case": other_case.pk,
                "person": person["id"],
                "relationship": "child",
                "start_date": "2026-03-01",
            },
            format="json",
        ),
        api.post(
            "/api/v1/addresses/",
            {
                "case": other_case.pk,
                "line_1": "1 High Street",
                "town": "Leeds",
                "postcode": "LS1 4AP",
                "start_date": "2026-03-01",
            },
            format="json",
        ),
        api.post(
            "/api/v1/hazards/",
            {"case": other_case.pk, "kind": "animal", "details": "Dog", "start_date": "2026-03-01"},
            format="json",
        ),
        api.patch(f"/api/v1/cases/{other_case.pk}/", {"family_name": "X"}, format="json"),
        api.post(
            f"/api/v1/cases/{other_case.pk}/close/",
            {"closed_on": "2026-03-01", "reason": "nfa"},
            format="json",
        ),
    ]

    assert [r.status_code for r in responses] == [404] * len(responses)
    assert api.post("/api/v1/addresses/", {"case": "one"}, format="json").json()["case"]
    assert not Membership.objects.filter(case=other_case).exists()
    assert not Address.objects.filter(case=other_case).exists()
    other_case.refresh_from_db()
    assert other_case.family_name == "Brennan" and other_case.is_open


# --- Writes -----------------------------------------------------------------------------


def test_it_opens_a_case_with_a_reference(worker, team):
    client = api_for(worker, token=True)

    response = client.post(
        "/api/v1/cases/",
        {
            "family_name": "Dempsey",
            "team": team.pk,
            "summary": "Referral from school",
            "opened_on": "2026-03-02",
            "allocated_workers": [worker.pk],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["reference"] == "SG-2026-00001"
    assert body["status"] == "open"
    assert body["allocated_workers"] == [{"id": worker.pk, "name": worker.get_full_name()}]
    assert body["any_child_on_plan"] is False
    assert body["active_hazards"] == []
    case = Case.objects.get(pk=body["id"])
    assert case.created_by == worker
    assert case.history.first().history_user == worker


def test_it_opens_a_case_only_in_the_users_own_team(worker, other_team):
    response = api_for(worker).post(
        "/api/v1/cases/",
        {
            "family_name": "Dempsey",
            "team": other_team.pk,
            "summary": "Referral",
            "opened_on": "2026-03-02",
        },
        format="json",
    )

    # The service refuses it: who may open a case where is the policy's to say.
    assert response.status_code == 403
    assert not Case.objects.exists()

    manager = UserFactory(role=roles.SERVICE_MANAGER)
    response = api_for(manager).post(
        "/api/v1/cases/",
        {
            "family_name": "Dempsey",
            "team": other_team.pk,
            "summary": "Referral",
            "opened_on": "2026-03-02",
        },
        format="json",
    )
    assert response.status_code == 201, response.content


def test_it_gives_400_with_field_errors_for_a_case_opened_in_the_future(api, team):
    response = api.post(
        "/api/v1/cases/",
        {
            "family_name": "Dempsey",
            "summary": "Referral",
            "opened_on": (datetime.date.today() + datetime.timedelta(days=30)).isoformat(),
        },
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["opened_on"]


def test_it_changes_the_family_name_and_records_the_api_user_in_history(worker, case):
    response = api_for(worker, token=True).patch(
        f"/api/v1/cases/{case.pk}/", {"family_name": "Ashworth-Kaur"}, format="json"
    )

    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert case.family_name == "Ashworth-Kaur"
    assert case.summary == "Concerns about neglect reported by school."
    assert case.history.first().history_user == worker


def test_it_returns_400_with_field_errors_for_a_bad_nhs_number_or_upn(api):
    response = api.post(
        "/api/v1/people/",
        {
            "last_name": "Evans",
            "nhs_number": "9434765918",
            "upn": "A801200001001",
        },
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"nhs_number", "upn"}
    assert "not a valid NHS number" in errors["nhs_number"][0]
    assert not Person.objects.filter(last_name="Evans").exists()


def test_it_records_a_person_with_valid_identifiers_as_people_write_them(api, worker):
    response = api.post(
        "/api/v1/people/",
        {
            "first_name": "Ella",
            "last_name": "Evans",
            "date_of_birth": "2019-03-27",
            "nhs_number": "943 476 5919",
            "upn": VALID_UPN,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    person = Person.objects.get(pk=response.json()["id"])
    assert person.nhs_number == VALID_NHS
    assert person.history.first().history_user == worker


def test_it_returns_400_for_a_duplicate_nhs_number_from_the_service(api, child):
    child.nhs_number = VALID_NHS
    child.save()

    response = api.post(
        "/api/v1/people/", {"last_name": "Evans", "nhs_number": VALID_NHS}, format="json"
    )

    assert response.status_code == 400
    assert "already has this NHS number" in response.json()["nhs_number"][0]


def test_it_changes_a_persons_details(api, child):
    response = api.patch(f"/api/v1/people/{child.pk}/", {"nhs_number": VALID_NHS}, format="json")

    assert response.status_code == 200, response.content
    child.refresh_from_db()
    assert child.nhs_number == VALID_NHS
    assert (
        api.patch(f"/api/v1/people/{child.pk}/", {"upn": "nonsense"}, format="json").status_code
        == 400
    )


def test_it_adds_a_new_person_to_a_case(api, worker, case):
    person = api.post(
        "/api/v1/people/", {"first_name": "Finn", "last_name": "Ashworth"}, format="json"
    ).json()

    response = api.post(
        "/api/v1/memberships/",
        {
            "case": case.pk,
            "person": person["id"],
            "relationship": "child",
            "start_date": "2026-03-01",
            "lives_in_household": True,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    membership = Membership.objects.get(pk=response.json()["id"])
    assert membership.person_id == person["id"]
    assert membership.history.first().history_user == worker
    assert api.get(f"/api/v1/people/{person['id']}/").status_code == 200


def test_it_does_not_add_someone_the_user_cannot_see_to_a_case(api, case, other_case):
    stranger = MembershipFactory(case=other_case).person

    response = api.post(
        "/api/v1/memberships/",
        {
            "case": case.pk,
            "person": stranger.pk,
            "relationship": "child",
            "start_date": "2026-03-01",
        },
        format="json",
    )

    assert response.status_code == 400
    assert "person" in response.json()


def test_it_returns_400_when_a_membership_ends_before_it_started(api, case, child):
    membership = child.memberships.get()

    response = api.post(
        f"/api/v1/memberships/{membership.pk}/end/",
        {"end_date": "2026-01-01", "reason": "Moved out"},
        format="json",
    )

    assert response.status_code == 400
    assert "end_date" in response.json()
    membership.refresh_from_db()
    assert membership.end_date is None


def test_it_ends_a_membership_and_changes_where_they_live(api, case, child):
    membership = child.memberships.get()

    response = api.patch(
        f"/api/v1/memberships/{membership.pk}/", {"lives_in_household": False}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["lives_in_household"] is False

    response = api.post(
        f"/api/v1/memberships/{membership.pk}/end/",
        {"end_date": "2026-03-01", "reason": "Moved to her father's"},
        format="json",
    )
    assert response.status_code == 200, response.content
    membership.refresh_from_db()
    assert membership.end_date == datetime.date(2026, 3, 1)


def test_it_gives_the_services_400_for_a_write_on_a_closed_case(team, api):
    closed = CaseFactory(
        team=team,
        status=Case.Status.CLOSED,
        closed_on=datetime.date(2026, 3, 1),
        closure_reason="nfa",
    )
    person = PersonFactory()
    MembershipFactory(case=CaseFactory(team=team), person=person)

    response = api.post(
        "/api/v1/memberships/",
        {
            "case": closed.pk,
            "person": person.pk,
            "relationship": "child",
            "start_date": "2026-03-02",
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["This case is closed: reopen it before adding people"]
    }


def test_it_returns_400_for_a_bad_postcode(api, case):
    response = api.post(
        "/api/v1/addresses/",
        {
            "case": case.pk,
            "line_1": "1 High Street",
            "town": "Leeds",
            "postcode": "QQ1 1QQ",
            "start_date": "2026-03-01",
        },
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["postcode"]
    assert not Address.objects.exists()


def test_it_adds_an_address_and_ends_the_previous_one(api, case):
    old = AddressFactory(case=case)

    response = api.post(
        "/api/v1/addresses/",
        {
            "case": case.pk,
            "line_1": "1 High Street",
            "town": "Leeds",
            "postcode": "ls14ap",
            "start_date": "2026-03-01",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["postcode"] == "LS1 4AP"
    old.refresh_from_db()
    assert old.end_date == datetime.date(2026, 2, 28)
    assert ids(api.get("/api/v1/addresses/", {"case": case.pk})) == {old.pk, response.json()["id"]}


def test_it_refuses_a_second_open_plan_for_a_child(api, case, child):
    PlanFactory(case=case, child=child)

    response = api.post(
        "/api/v1/cp-plans/",
        {"case": case.pk, "child": child.pk, "category": "emotional", "start_date": "2026-03-01"},
        format="json",
    )

    assert response.status_code == 400
    assert "already subject to a plan" in response.json()["child"][0]
    assert ChildProtectionPlan.objects.filter(child=child).count() == 1


def test_it_starts_and_ends_a_plan_and_shows_it_on_the_case(api, case, child):
    response = api.post(
        "/api/v1/cp-plans/",
        {"case": case.pk, "child": child.pk, "category": "neglect", "start_date": "2026-03-01"},
        format="json",
    )
    assert response.status_code == 201, response.content
    plan_id = response.json()["id"]
    assert api.get(f"/api/v1/cases/{case.pk}/").json()["any_child_on_plan"] is True
    assert ids(api.get("/api/v1/cp-plans/", {"child": child.pk})) == {plan_id}

    response = api.post(
        f"/api/v1/cp-plans/{plan_id}/end/", {"end_date": "2026-02-01"}, format="json"
    )
    assert response.status_code == 400
    assert "end_date" in response.json()

    response = api.post(
        f"/api/v1/cp-plans/{plan_id}/end/",
        {"end_date": "2026-06-01", "reason": "Stepped down"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert api.get(f"/api/v1/cases/{case.pk}/").json()["any_child_on_plan"] is False


def test_it_refuses_a_hazard_about_neither_a_case_nor_a_person(api, case):
    response = api.post(
        "/api/v1/hazards/",
        {"kind": "animal", "details": "Dog", "start_date": "2026-03-01"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["A hazard is about a case or about one person"]}
    assert not Hazard.objects.exists()


def test_it_adds_a_hazard_about_a_person_and_shows_it_on_the_case(api, worker, case, child):
    response = api.post(
        "/api/v1/hazards/",
        {
            "person": child.pk,
            "kind": "infection",
            "details": "Chickenpox",
            "start_date": "2026-03-01",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    hazard = Hazard.objects.get(pk=response.json()["id"])
    assert hazard.created_by == worker
    active = api.get(f"/api/v1/cases/{case.pk}/").json()["active_hazards"]
    assert [h["id"] for h in active] == [hazard.pk]

    response = api.post(
        f"/api/v1/hazards/{hazard.pk}/end/", {"end_date": "2026-03-10"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert api.get(f"/api/v1/cases/{case.pk}/").json()["active_hazards"] == []


def test_it_marks_records_in_error_and_keeps_them(api, worker, case, child):
    address = AddressFactory(case=case)
    hazard = HazardFactory(case=case)
    plan = PlanFactory(case=case, child=child)
    membership = child.memberships.get()

    for url, record in [
        ("/api/v1/cp-plans/", plan),
        ("/api/v1/addresses/", address),
        ("/api/v1/hazards/", hazard),
        ("/api/v1/memberships/", membership),
    ]:
        assert api.post(f"{url}{record.pk}/in_error/", {}, format="json").status_code == 400
        response = api.post(
            f"{url}{record.pk}/in_error/", {"reason": "Wrong family"}, format="json"
        )
        assert response.status_code == 200, (url, response.content)
        assert response.json()["in_error"] is True
        record.refresh_from_db()
        assert record.in_error and record.in_error_by == worker
        assert record.history.first().history_user == worker

    response = api.post(
        f"/api/v1/addresses/{address.pk}/end/", {"end_date": "2026-03-01"}, format="json"
    )
    assert response.status_code == 400
    assert ids(api.get("/api/v1/addresses/", {"in_error": "true"})) == {address.pk}


def test_it_has_no_delete_or_put(api, case, child):
    urls = [
        f"/api/v1/cases/{case.pk}/",
        f"/api/v1/people/{child.pk}/",
        f"/api/v1/memberships/{child.memberships.get().pk}/",
        f"/api/v1/addresses/{AddressFactory(case=case).pk}/",
        f"/api/v1/cp-plans/{PlanFactory(case=case, child=child).pk}/",
        f"/api/v1/hazards/{HazardFactory(case=case).pk}/",
    ]

    for url in urls:
        assert api.delete(url).status_code == 405, url
        assert api.put(url, {}, format="json").status_code == 405, url
    assert Case.objects.filter(pk=case.pk).exists()
    assert Hazard.objects.count() == 1


def test_it_closes_a_case_for_an_allocated_worker_and_reopens_it_for_a_manager(
    worker, team, api, case
):
    response = api.post(
        f"/api/v1/cases/{case.pk}/close/",
        {"closed_on": "2026-03-01", "reason": "nfa", "notes": "Family engaging well"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed"
    assert case.history.first().history_user == worker

    response = api.post(
        f"/api/v1/cases/{case.pk}/reopen/", {"reason": "New referral"}, format="json"
    )
    assert response.status_code == 403

    manager = UserFactory(role=roles.TEAM_MANAGER, team=team)
    response = api_for(manager).post(
        f"/api/v1/cases/{case.pk}/reopen/", {"reason": "New referral"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "open"
    assert case.history.first().history_user == manager


def test_it_refuses_to_close_with_bad_input(api, case):
    response = api.post(
        f"/api/v1/cases/{case.pk}/close/",
        {"closed_on": "2025-12-01", "reason": "nfa"},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["closed_on"]

    response = api.post(
        f"/api/v1/cases/{case.pk}/close/",
        {"closed_on": "2026-03-01", "reason": "bored"},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["reason"]


def test_it_lets_only_managers_allocate_workers_of_the_team(worker, team, api, case):
    colleague = UserFactory(team=team)
    outsider = UserFactory(team=TeamFactory())

    assert (
        api.post(
            f"/api/v1/cases/{case.pk}/allocate/", {"workers": [colleague.pk]}, format="json"
        ).status_code
        == 403
    )

    manager = api_for(UserFactory(role=roles.TEAM_MANAGER, team=team))
    response = manager.post(
        f"/api/v1/cases/{case.pk}/allocate/", {"workers": [outsider.pk]}, format="json"
    )
    assert response.status_code == 400
    assert "workers" in response.json()

    response = manager.post(
        f"/api/v1/cases/{case.pk}/allocate/", {"workers": [colleague.pk, worker.pk]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert {w["id"] for w in response.json()["allocated_workers"]} == {colleague.pk, worker.pk}


# --- Audit, schema, output ---------------------------------------------------------------


def test_it_writes_every_api_read_of_a_case_to_the_access_log(worker, api, case):
    response = api.get(f"/api/v1/cases/{case.pk}/", REMOTE_ADDR="10.20.30.40")

    assert response.status_code == 200
    log = AccessLog.objects.get()
    assert (log.user, log.case_id, log.case_reference) == (worker, case.pk, case.reference)
    assert log.what == "API read case"
    assert log.ip_address == "10.20.30.40"
    assert log.at is not None

    api.get("/api/v1/cases/", REMOTE_ADDR="10.20.30.40")
    api.get("/api/v1/hazards/", {"case": case.pk})
    assert AccessLog.objects.filter(case_id=case.pk).count() == 2
    HazardFactory(case=case)
    api.get("/api/v1/hazards/", {"case": case.pk})
    assert AccessLog.objects.filter(what="API list hazard", case_id=case.pk).count() == 1


def test_it_logs_a_refused_read_as_refused(api, other_case):
    assert api.get(f"/api/v1/cases/{other_case.pk}/").status_code == 404
    log = AccessLog.objects.get()
    assert (log.case_id, log.outcome, log.via, log.case_reference) == (
        other_case.pk,
        "refused",
        "api",
        "",
    )


def test_it_serves_the_schema_and_docs_only_after_login(worker):
    anonymous = APIClient()
    for url in ("/api/v1/schema/", "/api/v1/docs/"):
        response = anonymous.get(url)
        assert response.status_code == 401, url
        assert b"openapi" not in response.content

    client = api_for(worker)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/cases/" in schema.json()["paths"]
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


def test_it_returns_user_typed_html_unchanged_as_json(api, case):
    script = "<script>alert(1)</script>"

    response = api.patch(f"/api/v1/cases/{case.pk}/", {"family_name": script}, format="json")
    assert response.status_code == 200, response.content

    for accept in ("application/json", "text/html,application/xhtml+xml,*/*;q=0.8"):
        response = api.get(f"/api/v1/cases/{case.pk}/", HTTP_ACCEPT=accept)
        assert response["Content-Type"] == "application/json"
        assert response.json()["family_name"] == script
        assert script in response.content.decode()
        assert response["Cache-Control"] == "no-store"

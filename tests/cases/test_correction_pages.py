"""The pages and API endpoints that correct the case record: they start from what is
stored, and a second person saving over a newer change is told, with what they typed
kept. (Every edit form submitted unchanged saving nothing is tests/test_edit_forms.py.)"""

import datetime
import html

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import roles
from cases import services
from cases.models import Escalation
from tests.factories import (
    AddressFactory,
    AgencyFactory,
    EscalationFactory,
    HazardFactory,
    MeetingFactory,
    MembershipFactory,
    PersonFactory,
    PlanFactory,
    UserFactory,
)
from tests.form_html import form_data

D = datetime.date


@pytest.fixture
def colleague(team):
    return UserFactory(username="colleague", first_name="Ravi", last_name="Shah", team=team)


@pytest.fixture
def address(case):
    return AddressFactory(
        case=case,
        line_1="12 Mill Lane",
        town="Northtown",
        postcode="LS2 7HY",
        start_date=D(2026, 1, 5),
    )


def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def _error_summary(response) -> str:
    body = response.content.decode()
    assert "govuk-error-summary" in body, body[:2000]
    return html.unescape(body.split("govuk-error-summary__list", 1)[1].split("</ul>", 1)[0])


def test_two_people_correcting_one_address_the_second_is_told_and_keeps_what_they_typed(
    case, address, worker, colleague
):
    url = reverse("cases:address_edit", args=[case.pk, address.pk])
    mine, theirs = _client(worker), _client(colleague)
    my_form = form_data(mine.get(url).content.decode())
    their_form = form_data(theirs.get(url).content.decode())
    assert my_form["line_1"] == ["12 Mill Lane"] and my_form["postcode"] == ["LS2 7HY"]

    their_form["line_1"] = ["14 Mill Lane"]
    assert theirs.post(url, their_form).status_code == 302  # Ravi saves first

    my_form["line_2"] = ["Flat 3"]
    my_form["town"] = ["Southtown"]
    response = mine.post(url, my_form)

    assert response.status_code == 400
    message = _error_summary(response)
    assert "Ravi Shah changed this address" in message
    assert "address line 1 is now “14 Mill Lane”" in message
    shown = form_data(response.content.decode())
    assert (shown["line_2"], shown["town"], shown["line_1"]) == (
        ["Flat 3"],
        ["Southtown"],
        ["12 Mill Lane"],  # what I had on my form, to be compared with Ravi's change
    )
    address.refresh_from_db()
    assert shown["version"] == [services.address_version(address)]  # the one stored now
    assert (address.line_1, address.line_2, address.town) == ("14 Mill Lane", "", "Northtown")

    # Having looked, I put Ravi's line back and save over his version.
    shown["line_1"] = ["14 Mill Lane"]
    assert mine.post(url, shown).status_code == 302
    address.refresh_from_db()
    assert (address.line_1, address.line_2, address.town) == ("14 Mill Lane", "Flat 3", "Southtown")
    assert address.history.first().history_user == worker


def test_a_correction_the_service_refuses_is_shown_beside_its_field(
    signed_in, case, address, worker
):
    AddressFactory(case=case, line_1="3 Old Road", start_date=D(2025, 6, 1), end_date=D(2026, 1, 4))
    url = reverse("cases:address_edit", args=[case.pk, address.pk])
    data = form_data(signed_in.get(url).content.decode())
    data.update({"start_date-day": ["1"], "start_date-month": ["5"], "start_date-year": ["2025"]})

    response = signed_in.post(url, data)

    assert response.status_code == 400
    assert "after they moved to the address before" in _error_summary(response)


def test_the_case_page_links_to_each_correction(signed_in, case, worker):
    child = MembershipFactory(case=case, person=PersonFactory(first_name="Amy"))
    left = MembershipFactory(
        case=case, relationship="partner", start_date=D(2026, 1, 5), end_date=D(2026, 2, 1)
    )
    address = AddressFactory(case=case)
    plan = PlanFactory(case=case, child=child.person)
    hazard = HazardFactory(case=case)
    meeting = MeetingFactory(case=case)
    raised = EscalationFactory(case=case, kind="non_compliance", raised_by=worker)
    rule = EscalationFactory(case=case, kind="defaulted_visits")

    body = signed_in.get(reverse("cases:detail", args=[case.pk])).content.decode()

    for name, kwargs in (
        ("membership_edit", {"membership_pk": child.pk}),
        ("membership_edit", {"membership_pk": left.pk}),
        ("address_edit", {"address_pk": address.pk}),
        ("plan_edit", {"plan_pk": plan.pk}),
        ("hazard_edit", {"hazard_pk": hazard.pk}),
        ("meeting_edit", {"meeting_pk": meeting.pk}),
        ("escalation_edit", {"escalation_pk": raised.pk}),
    ):
        assert reverse(f"cases:{name}", kwargs={"pk": case.pk, **kwargs}) in body, name
    assert reverse("cases:escalation_edit", args=[case.pk, rule.pk]) not in body


def test_business_support_is_not_offered_an_escalation_to_correct(client, team, case, worker):
    support = UserFactory(username="support", team=team, role=roles.BUSINESS_SUPPORT)
    raised = EscalationFactory(case=case, kind="non_compliance", raised_by=worker)
    client.force_login(support)
    url = reverse("cases:escalation_edit", args=[case.pk, raised.pk])

    assert url not in client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "Other"}).status_code == 403


def test_the_meeting_form_shows_who_attended_and_corrects_it(signed_in, case, worker):
    gone = UserFactory(username="gone", team=case.team, is_active=False)
    school = AgencyFactory(name="Northtown Primary")
    meeting = MeetingFactory(case=case, kind="core_group", created_by=worker)
    meeting.staff_attendees.set([worker, gone])
    meeting.agencies.set([school])
    url = reverse("cases:meeting_edit", args=[case.pk, meeting.pk])

    data = form_data(signed_in.get(url).content.decode())
    assert sorted(data["staff_attendees"]) == sorted([str(worker.pk), str(gone.pk)])
    assert data["agencies"] == [str(school.pk)] and data["kind"] == ["core_group"]
    data["staff_attendees"] = [str(worker.pk)]

    assert signed_in.post(url, data).status_code == 302
    assert list(meeting.staff_attendees.all()) == [worker]


def test_a_stay_that_has_ended_is_corrected_with_when_and_why_they_left(signed_in, case):
    left = MembershipFactory(
        case=case,
        relationship="partner",
        start_date=D(2026, 1, 5),
        end_date=D(2026, 2, 1),
        end_reason="Moved out",
    )
    url = reverse("cases:membership_edit", args=[case.pk, left.pk])
    data = form_data(signed_in.get(url).content.decode())
    assert data["end_date-day"] == ["1"] and data["end_reason"] == ["Moved out"]
    data.update({"end_date-day": ["3"], "end_reason": ["Moved to his mother's"]})

    assert signed_in.post(url, data).status_code == 302
    left.refresh_from_db()
    assert (left.end_date, left.end_reason) == (D(2026, 2, 3), "Moved to his mother's")


# --- API -----------------------------------------------------------------------------------


@pytest.fixture
def api(worker):
    client = APIClient()
    client.force_login(worker)
    return client


def test_a_patch_returns_the_version_and_refuses_a_stale_one_with_409(
    api, case, address, colleague
):
    url = f"/api/v1/addresses/{address.pk}/"
    read = api.get(url).json()["version"]
    assert read == services.address_version(address)
    services.address_update(actor=colleague, address=address, line_1="14 Mill Lane")

    response = api.patch(url, {"town": "Southtown", "version": read}, format="json")

    assert response.status_code == 409
    assert "Ravi Shah changed this address" in response.json()["detail"]
    address.refresh_from_db()
    assert address.town == "Northtown"

    current = api.get(url).json()["version"]
    response = api.patch(url, {"town": "Southtown", "version": current}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["town"] == "Southtown"
    assert response.json()["version"] not in (read, current)


@pytest.fixture
def records(case, worker):
    child = MembershipFactory(case=case, person=PersonFactory(first_name="Amy"))
    meeting = MeetingFactory(case=case)
    return {
        "people": child.person,
        "memberships": child,
        "cp-plans": PlanFactory(case=case, child=child.person),
        "hazards": HazardFactory(case=case),
        "meetings": meeting,
    }


@pytest.mark.parametrize(
    "resource, change, version",
    [
        ("people", {"first_name": "Amelia"}, services.person_version),
        ("memberships", {"lives_in_household": False}, services.membership_version),
        ("cp-plans", {"category": "sexual"}, services.plan_version),
        ("hazards", {"details": "Two dogs"}, services.hazard_version),
        ("meetings", {"chair": "Sam Reid"}, services.meeting_version),
    ],
)
def test_each_record_is_corrected_with_patch_and_its_version(
    api, records, colleague, resource, change, version
):
    obj = records[resource]
    url = f"/api/v1/{resource}/{obj.pk}/"
    read = api.get(url).json()["version"]
    assert read == version(type(obj).objects.get(pk=obj.pk))

    response = api.patch(url, {**change, "version": read}, format="json")

    assert response.status_code == 200, response.content
    for key, value in change.items():
        assert response.json()[key] == value
    assert response.json()["version"] == version(type(obj).objects.get(pk=obj.pk)) != read
    stale = api.patch(url, {**change, "version": read}, format="json")
    assert stale.status_code == 409, stale.content


def test_a_meeting_s_attendees_are_corrected_by_patch(api, case, worker):
    meeting = MeetingFactory(case=case)
    school = AgencyFactory(name="Northtown Primary")

    response = api.patch(
        f"/api/v1/meetings/{meeting.pk}/",
        {"staff_attendees": [worker.pk], "agencies": [school.pk]},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert (response.json()["staff_attendees"], response.json()["agencies"]) == (
        [worker.pk],
        [school.pk],
    )
    listed = api.get(f"/api/v1/meetings/?case={case.pk}").json()["results"]
    assert [row["version"] for row in listed] == [services.meeting_version(meeting)]


def test_the_api_still_records_a_move_in_or_out_of_the_household(api, case, colleague):
    stay = MembershipFactory(case=case, relationship="father")
    url = f"/api/v1/memberships/{stay.pk}/household/"
    read = services.membership_version(stay)

    response = api.post(url, {"lives_in_household": False, "version": read}, format="json")

    assert response.status_code == 200, response.content
    stay.refresh_from_db()
    assert stay.lives_in_household is False
    services.membership_update(actor=colleague, membership=stay, relationship="step_parent")
    stale = api.post(
        url, {"lives_in_household": True, "version": response.json()["version"]}, format="json"
    )
    assert stale.status_code == 409
    assert "relationship is now “Step-parent”" in stale.json()["detail"]


def test_an_escalation_s_concern_is_corrected_through_its_case(api, case, worker):
    raised = services.escalation_open(
        case=case, kind="non_compliance", actor=worker, trigger_date=D(2026, 3, 2), reason="First"
    )
    rule = EscalationFactory(case=case, kind="defaulted_visits", state="open")
    url = f"/api/v1/cases/{case.pk}/escalations/{raised.pk}/"

    read = api.get(url).json()
    assert read["version"] == services.escalation_version(raised)
    response = api.patch(
        url, {"reason": "Refused entry", "version": read["version"]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["reason"] == "Refused entry"
    assert (
        api.patch(url, {"reason": "Again", "version": read["version"]}, format="json").status_code
        == 409
    )

    refused = api.patch(
        f"/api/v1/cases/{case.pk}/escalations/{rule.pk}/", {"reason": "Mine"}, format="json"
    )
    assert refused.status_code == 403
    assert Escalation.objects.get(pk=rule.pk).reason == "4 visits defaulted"

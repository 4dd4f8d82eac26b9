import datetime
import re

import pytest
from django.urls import reverse

from accounts import roles
from accounts.models import AccessLog
from cases.models import Address, Case, Membership, Person
from tests.factories import (
    AddressFactory,
    CaseFactory,
    HazardFactory,
    MembershipFactory,
    PersonFactory,
    PlanFactory,
    UserFactory,
)

D = datetime.date


def date_data(name, day):
    return {f"{name}-day": day.day, f"{name}-month": day.month, f"{name}-year": day.year}


def test_it_records_the_acting_user_for_a_page_edit(signed_in, worker, case):
    response = signed_in.post(
        reverse("cases:address_add", args=[case.pk]),
        {
            "line_1": "14 Mill Lane",
            "town": "Leeds",
            "postcode": "ls11 5qp",
            **date_data("start_date", D(2026, 2, 1)),
        },
    )
    assert response.status_code == 302
    address = Address.objects.get(case=case)
    assert address.postcode == "LS11 5QP"
    assert address.history.get().history_user == worker


def test_it_keeps_what_was_typed_when_a_form_has_errors(signed_in, case):
    response = signed_in.post(
        reverse("cases:address_add", args=[case.pk]),
        {
            "line_1": "14 Mill Lane",
            "line_2": "Flat <b>2</b>",
            "town": "Leeds",
            "postcode": "NOT A POSTCODE",
            "start_date-day": "30",
            "start_date-month": "2",
            "start_date-year": "2026",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "govuk-error-summary" in body
    assert "Enter a real UK postcode" in body
    assert 'value="14 Mill Lane"' in body
    assert 'value="NOT A POSTCODE"' in body
    assert "Flat &lt;b&gt;2&lt;/b&gt;" in body
    assert 'value="30"' in body
    assert not Address.objects.exists()


def test_it_escapes_text_users_typed_on_the_case_page(signed_in, worker, case):
    case.summary = "<script>alert('x')</script>"
    case.save()
    HazardFactory(case=case, details="<img src=x onerror=alert(1)>")
    body = signed_in.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert" in body
    assert "<img src=x" not in body


def test_it_shows_active_hazards_and_plan_status_at_the_top_of_every_case_page(signed_in, case):
    child = MembershipFactory(case=case, person__first_name="Kayden").person
    PlanFactory(case=case, child=child, start_date=D(2026, 2, 1))
    HazardFactory(case=case, details="Large dog", start_date=D(2026, 1, 5))
    HazardFactory(case=case, details="Old hazard", start_date=D(2026, 1, 5), end_date=D(2026, 1, 6))
    for name in ("cases:detail", "cases:history", "cases:hazard_add", "cases:address_add"):
        body = signed_in.get(reverse(name, args=[case.pk])).content.decode()
        assert "Hazards for anyone visiting" in body, name
        assert "Large dog" in body, name
        assert "Old hazard" not in body.split("Hazards for anyone visiting")[1].split("</ul>")[0]
        assert 'govuk-tag--red">Child protection plan' in body, name


def test_it_shows_the_household_now_and_before(signed_in, worker, case):
    MembershipFactory(
        case=case, person__first_name="Leanne", person__last_name="Carter", relationship="mother"
    )
    MembershipFactory(
        case=case,
        person__first_name="Darren",
        person__last_name="Mills",
        relationship="partner",
        start_date=D(2026, 1, 10),
        end_date=D(2026, 3, 1),
        end_reason="Arrested",
    )
    body = signed_in.get(reverse("cases:detail", args=[case.pk])).content.decode()
    now_section = body.split('id="household"')[1].split('id="elsewhere"')[0]
    before = body.split('id="before"')[1].split('id="addresses"')[0]
    assert "Leanne Carter" in now_section, now_section
    assert "Darren Mills" not in now_section, now_section
    assert "Darren Mills" in before and "Arrested" in before


def test_it_writes_each_case_page_view_to_the_access_log(signed_in, worker, case):
    signed_in.get(reverse("cases:detail", args=[case.pk]), REMOTE_ADDR="10.1.2.3")
    log = AccessLog.objects.get()
    assert (log.user, log.case_id, log.case_reference, log.ip_address) == (
        worker,
        case.pk,
        case.reference,
        "10.1.2.3",
    )
    assert log.what == "viewed case page"


def test_it_keeps_search_terms_out_of_the_url(signed_in, case):
    MembershipFactory(case=case, person__first_name="Kayden", person__date_of_birth=D(2019, 5, 20))
    other = CaseFactory(team=case.team, family_name="Walsh")
    response = signed_in.post(
        reverse("cases:list") + "?scope=team", {"q": "20/05/2019", "status": "open"}
    )
    assert response.status_code == 302
    assert "2019" not in response["Location"] and "Kayden" not in response["Location"]
    body = signed_in.get(response["Location"]).content.decode()
    assert case.reference in body and other.reference not in body


@pytest.mark.parametrize("term", ["Carter", "Kayd", "LS11 5QP", "ls115qp"])
def test_it_finds_cases_by_name_postcode_or_reference(signed_in, case, term):
    MembershipFactory(case=case, person__first_name="Kayden")
    AddressFactory(case=case, postcode="LS11 5QP")
    other = CaseFactory(team=case.team, family_name="Walsh")
    response = signed_in.post(reverse("cases:list") + "?scope=team", {"q": term})
    body = signed_in.get(response["Location"]).content.decode()
    assert case.reference in body and other.reference not in body
    response = signed_in.post(reverse("cases:list") + "?scope=team", {"q": case.reference})
    assert case.reference in signed_in.get(response["Location"]).content.decode()


def test_it_shows_a_worker_their_own_cases_and_a_manager_the_team(client, worker, case):
    unallocated = CaseFactory(team=case.team, family_name="Walsh")
    client.force_login(worker)
    body = client.get(reverse("cases:list")).content.decode()
    assert case.reference in body and unallocated.reference not in body
    manager = UserFactory(team=case.team, role=roles.TEAM_MANAGER)
    client.force_login(manager)
    body = client.get(reverse("cases:list")).content.decode()
    assert case.reference in body and unallocated.reference in body


def test_it_shows_matches_before_a_new_person_can_be_made(signed_in, case):
    known = PersonFactory(first_name="Darren", last_name="Mills", date_of_birth=D(1991, 6, 14))
    url = reverse("cases:person_add", args=[case.pk])
    response = signed_in.post(
        url,
        {
            "action": "search",
            "s-first_name": "Daren",
            "s-last_name": "Mills",
            **date_data("s-date_of_birth", D(1991, 6, 14)),
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Darren Mills" in body and "similar name, same date of birth" in body
    response = signed_in.post(
        url,
        {
            "action": "add",
            "s-first_name": "Daren",
            "s-last_name": "Mills",
            **date_data("s-date_of_birth", D(1991, 6, 14)),
            "person": str(known.pk),
            "m-relationship": "father",
            "m-lives_in_household": "no",
            **date_data("m-start_date", D(2026, 2, 1)),
        },
    )
    assert response.status_code == 302
    m = Membership.objects.get(case=case)
    assert m.person == known and not m.lives_in_household


def test_it_finds_him_by_name_alone_and_links_him_with_his_hazard(signed_in, worker, case):
    """Search before create finds Darren Mills with no date of birth; picking him adds
    him to this case, and the hazard recorded on him shows at the top of it."""
    walsh = CaseFactory(family_name="Walsh")  # another team's family
    darren = PersonFactory(first_name="Darren", last_name="Mills", date_of_birth=D(1991, 6, 14))
    MembershipFactory(case=walsh, person=darren, relationship="partner")
    HazardFactory(
        case=None,
        person=darren,
        kind="aggressive_adult",
        details="Threatened the worker <b>in January</b>",
    )
    url = reverse("cases:person_add", args=[case.pk])
    search = {"s-first_name": "Darren", "s-last_name": "Mills"}
    body = signed_in.post(url, {"action": "search", **search}).content.decode()
    assert "Darren Mills" in body and "same name" in body
    assert "1 case you cannot see" in body and walsh.reference not in body

    response = signed_in.post(
        url,
        {
            "action": "add",
            **search,
            "person": str(darren.pk),
            "m-relationship": "father",
            "m-lives_in_household": "yes",
            **date_data("m-start_date", D(2026, 2, 1)),
        },
    )
    assert response.status_code == 302
    assert "Darren" not in response["Location"] and "Mills" not in response["Location"]
    assert Person.objects.filter(last_name="Mills").count() == 1
    body = signed_in.get(reverse("cases:detail", args=[case.pk])).content.decode()
    banner = body.split('id="hazards-title"', 1)[1].split("</div>", 1)[0]
    assert "Aggressive adult" in banner and "Darren Mills" in banner
    assert "&lt;b&gt;in January&lt;/b&gt;" in banner


def test_it_needs_a_choice_after_the_search(signed_in, case):
    url = reverse("cases:person_add", args=[case.pk])
    response = signed_in.post(
        url,
        {
            "action": "add",
            "s-last_name": "Mills",
            "m-relationship": "father",
            "m-lives_in_household": "yes",
            **date_data("m-start_date", D(2026, 2, 1)),
        },
    )
    assert response.status_code == 400
    assert "Select the person, or that they are not listed" in response.content.decode()
    assert not Membership.objects.exists()


def test_it_creates_a_new_person_after_the_search_and_reports_a_bad_nhs_number(signed_in, case):
    url = reverse("cases:person_add", args=[case.pk])
    base = {
        "action": "add",
        "s-first_name": "Mia",
        "s-last_name": "Carter",
        "person": "new",
        "m-relationship": "child",
        "m-lives_in_household": "yes",
        **date_data("m-start_date", D(2026, 2, 1)),
        "p-first_name": "Mia",
        "p-last_name": "Carter",
        "p-sex": "female",
        "p-ethnicity": "NOBT",
        **date_data("p-date_of_birth", D(2022, 1, 9)),
    }
    response = signed_in.post(url, {**base, "p-nhs_number": "943 476 5918"})
    assert response.status_code == 400
    assert "not a valid NHS number" in response.content.decode()
    assert not Membership.objects.exists()
    response = signed_in.post(url, {**base, "p-nhs_number": "943 476 5919"})
    assert response.status_code == 302
    assert Membership.objects.get(case=case).person.nhs_number == "9434765919"


def test_it_lets_a_manager_close_and_reopen_a_case(client, case):
    manager = UserFactory(team=case.team, role=roles.TEAM_MANAGER)
    client.force_login(manager)
    response = client.post(
        reverse("cases:close", args=[case.pk]),
        {**date_data("closed_on", D(2026, 3, 1)), "reason": "nfa", "notes": "Doing well"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED and case.closed_on == D(2026, 3, 1)
    response = client.post(reverse("cases:reopen", args=[case.pk]), {"reason": "New referral"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.is_open


def test_it_marks_a_record_in_error_and_keeps_it(signed_in, worker, case):
    m = MembershipFactory(case=case, person__first_name="Wrong")
    response = signed_in.post(
        reverse("cases:mark_in_error", args=[case.pk, "membership", m.pk]),
        {"reason": "Added to the wrong family"},
    )
    assert response.status_code == 302
    m.refresh_from_db()
    assert m.in_error and m.in_error_by == worker and m.in_error_reason
    body = signed_in.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "Wrong" not in body.split('id="household"')[1].split('id="addresses"')[0]


def test_it_flags_cases_with_an_open_or_overdue_escalation_in_the_list(signed_in, case):
    from tests.factories import EscalationFactory

    other = CaseFactory(team=case.team, family_name="Walsh")
    other.allocated_workers.add(*case.allocated_workers.all())
    EscalationFactory(case=case, state="overdue")
    EscalationFactory(case=other, state="open")
    body = signed_in.get(reverse("cases:list")).content.decode()
    carter = body.split(case.reference)[1].split("</tr>")[0]
    walsh = body.split(other.reference)[1].split("</tr>")[0]
    assert "Escalation overdue" in carter
    assert ">Escalation<" in walsh


def _case_page_queries(client, case):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("cases:detail", args=[case.pk]))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_case_page_asks_the_same_number_of_queries_however_many_children(
    signed_in, case, worker
):
    from tests.factories import RecordedVisitFactory
    from visits.models import ChildSeen

    def grow(n):
        for _ in range(n):
            child = MembershipFactory(case=case, start_date=D(2026, 1, 5)).person
            PlanFactory(case=case, child=child, start_date=D(2026, 2, 1))
            visit = RecordedVisitFactory(case=case, lead_worker=worker)
            ChildSeen.objects.create(visit=visit, child=child, seen=True, seen_alone=True)
            child.first_name = "Renamed"
            child.save()  # a change for the recent-changes panel

    grow(1)
    small = _case_page_queries(signed_in, case)
    grow(4)
    assert _case_page_queries(signed_in, case) == small


def test_a_search_in_team_cases_stays_in_team_cases(signed_in, case):
    # Not allocated to the worker: found only in the team's cases.
    walsh = CaseFactory(team=case.team, family_name="Walsh")
    response = signed_in.post(reverse("cases:list") + "?scope=team", {"q": "Walsh"})
    assert response.status_code == 302 and "scope=team" in response["Location"]
    body = signed_in.get(response["Location"]).content.decode()
    assert walsh.reference in body and case.reference not in body
    assert 'aria-current="page" href="?scope=team' in body.replace("\n", " ") or (
        "Team cases" in body
    )
    # The same search in "My cases" finds nothing: the Walsh case is not theirs.
    response = signed_in.post(reverse("cases:list") + "?scope=mine", {"q": "Walsh"})
    assert "scope=mine" in response["Location"]
    assert walsh.reference not in signed_in.get(response["Location"]).content.decode()


def test_allocation_keeps_a_social_worker_and_refuses_who_cannot_hold_cases(client, worker, case):
    manager = UserFactory(team=case.team, role=roles.TEAM_MANAGER)
    clerk = UserFactory(team=case.team, role=roles.BUSINESS_SUPPORT)
    client.force_login(manager)
    url = reverse("cases:allocate", args=[case.pk])

    nobody = client.post(url, {})
    assert nobody.status_code == 400
    assert "Select at least one worker" in nobody.content.decode()
    page = client.get(url).content.decode()
    assert clerk.get_full_name() not in page  # not offered
    clerk_posted = client.post(url, {"workers": [clerk.pk]})
    assert clerk_posted.status_code == 400
    assert list(case.allocated_workers.all()) == [worker]

    colleague = UserFactory(team=case.team)
    assert client.post(url, {"workers": [colleague.pk]}).status_code == 302
    assert list(case.allocated_workers.all()) == [colleague]


def test_a_closed_case_offers_no_changes_to_its_record(client, worker, case):
    """The services refuse every change to a closed case's record until it is reopened;
    its page does not offer them (a person's details and cancelling are still there)."""
    manager = UserFactory(team=case.team, role=roles.TEAM_MANAGER)
    MembershipFactory(case=case, relationship="child")
    AddressFactory(case=case)
    HazardFactory(case=case)
    Case.objects.filter(pk=case.pk).update(
        status=Case.Status.CLOSED, closed_on=D(2026, 3, 2), closure_reason="nfa"
    )
    client.force_login(manager)
    body = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    offered = re.sub(r"/people/\d+/edit/", "", body)  # a person's details stay open
    for refused in ("/edit/", "/end/", "/in-error/", "/allocate/", "Record a move"):
        assert refused not in offered, refused
    assert "Details" in body and "Reopen the case" in body

"""A worker opens a case and records a family, as they would in a browser."""

import datetime

import pytest

from accounts import roles
from cases.models import Case, ChildProtectionPlan, Hazard, Membership, Person
from tests.browser.signing_in import sign_in
from tests.factories import MembershipFactory, PersonFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_date(page, legend, day):
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))


def add_person(
    page,
    axe,
    *,
    first,
    last,
    born,
    relationship,
    match=None,
    sex=None,
    lives="Yes, they live there",
):
    page.get_by_role("link", name="Add a person").first.click()
    axe.check(page, "add a person: search")
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    fill_date(page, "Date of birth", born)
    page.get_by_role("button", name="Search").click()
    axe.check(page, "add a person: matches")
    if match:
        page.get_by_role("radio", name=match, exact=True).check()
    else:
        page.get_by_role("radio", name="None of these: this is a new person").check()
    page.get_by_role("group", name="Relationship in this family").get_by_label(
        relationship, exact=True
    ).check()
    page.get_by_role("group", name="Do they live in the household?").get_by_label(lives).check()
    if not match and sex:
        page.get_by_role("group", name="Sex").get_by_label(sex, exact=True).check()
    page.get_by_role("button", name="Add to the case").click()


def test_it_lets_a_worker_open_a_case_and_record_a_family(page, axe, screenshot, password):
    team = TeamFactory(name="North Assessment", code="north")
    UserFactory(username="amira", first_name="Amira", last_name="Hussain", team=team)
    UserFactory(username="grace", team=team, role=roles.TEAM_MANAGER)
    # The father is already known to the service on another family's case.
    known = PersonFactory(
        first_name="Darren", last_name="Mills", date_of_birth=datetime.date(1991, 6, 14)
    )
    MembershipFactory(
        person=known, relationship="partner", case__team=team, case__family_name="Walsh"
    )

    sign_in(page, "amira", password)
    axe.check(page, "my cases")
    page.get_by_role("link", name="Open a case").click()
    axe.check(page, "open a case")

    # A mistake first: nothing typed is lost and the error says what to do.
    page.get_by_label("Family name").fill("Carter <script>alert(1)</script>")
    page.get_by_role("button", name="Open case").click()
    assert page.get_by_role("alert").is_visible()
    assert "Enter" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Family name").input_value() == "Carter <script>alert(1)</script>"
    axe.check(page, "open a case: errors")
    page.get_by_label("Family name").fill("Carter")
    page.get_by_label("Summary of concerns").fill(
        "Children arriving at school hungry; home conditions poor."
    )
    page.get_by_label("Amira Hussain").check()
    page.get_by_role("button", name="Open case").click()

    case = Case.objects.get(family_name="Carter")
    assert page.url.endswith(f"/cases/{case.pk}/")
    axe.check(page, "case page (new)")

    add_person(
        page,
        axe,
        first="Leanne",
        last="Carter",
        born=datetime.date(1996, 3, 2),
        relationship="Mother",
        sex="Female",
    )
    add_person(
        page,
        axe,
        first="Darren",
        last="Mills",
        born=datetime.date(1991, 6, 14),
        relationship="Father",
        match="Darren Mills",
    )
    add_person(
        page,
        axe,
        first="Kayden",
        last="Carter",
        born=datetime.date(2019, 5, 20),
        relationship="Child",
        sex="Male",
    )
    add_person(
        page,
        axe,
        first="Mia",
        last="Carter",
        born=datetime.date(2022, 1, 9),
        relationship="Child",
        sex="Female",
    )

    members = Membership.objects.filter(case=case)
    assert members.count() == 4
    assert Person.objects.filter(first_name="Darren", last_name="Mills").count() == 1
    assert members.filter(person=known).exists()

    page.get_by_role("link", name="Start a child protection plan").click()
    axe.check(page, "start a plan")
    page.get_by_label("Kayden Carter").check()
    page.get_by_label("Neglect").check()
    page.get_by_role("button", name="Start plan").click()
    assert ChildProtectionPlan.objects.filter(case=case, child__first_name="Kayden").exists()

    page.get_by_role("link", name="Add a hazard").click()
    axe.check(page, "add a hazard")
    page.get_by_label("Dog or other animal").check()
    page.get_by_label("Details").fill("Two large dogs loose in the garden")
    page.get_by_role("button", name="Save hazard").click()
    assert Hazard.objects.filter(case=case).count() == 1

    bar = page.get_by_role("region", name="Case summary")
    assert "Child protection plan" in bar.inner_text()
    assert "1 hazard" in bar.inner_text()
    banner = page.get_by_role("region", name="Hazards for anyone visiting")
    assert "Two large dogs" in banner.inner_text()
    household = page.locator("#household + div table").inner_text()
    for name in ("Leanne Carter", "Darren Mills", "Kayden Carter", "Mia Carter"):
        assert name in household
    axe.check(page, "case page (family recorded)")
    screenshot(page, "case-page")
    page.set_viewport_size({"width": 360, "height": 800})
    screenshot(page, "case-page-360")
    assert page.console_errors == []

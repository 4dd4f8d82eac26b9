"""On a phone, a worker searches before adding a father, finds him by name alone though
he was recorded with another family, and links him: his hazard is at the top of the
case. A manager then merges a second record of him, made with a misspelled name on his
mother's family's case."""

import datetime

import pytest

from accounts import roles
from cases.models import Hazard, Membership, Person
from tests.browser.signing_in import sign_in
from tests.factories import (
    CaseFactory,
    HazardFactory,
    MembershipFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 800}


def fill_date(page, legend, day):
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))


def test_it_finds_him_by_name_alone_and_links_him_on_a_phone(page, axe, screenshot, password):
    team = TeamFactory(name="North Assessment", code="north")
    amira = UserFactory(username="amira", first_name="Amira", last_name="Hussain", team=team)
    UserFactory(
        username="grace", first_name="Grace", last_name="Okafor", team=team, role=roles.TEAM_MANAGER
    )
    other_team = TeamFactory(name="South Assessment", code="south")
    walsh = CaseFactory(team=other_team, family_name="Walsh", opened_on=datetime.date(2026, 1, 5))
    darren = PersonFactory(
        first_name="Darren",
        last_name="Mills",
        aliases="Daz Mills",
        date_of_birth=datetime.date(1991, 6, 14),
    )
    MembershipFactory(case=walsh, person=darren, relationship="partner")
    HazardFactory(
        case=None,
        person=darren,
        kind=Hazard.Kind.AGGRESSIVE_ADULT,
        details="Shouted at the worker and blocked the door",
    )
    carter = CaseFactory(team=team, family_name="Carter", opened_on=datetime.date(2026, 1, 5))
    carter.allocated_workers.add(amira)
    # A second record of him, made with his mother's family before anyone searched.
    mother = CaseFactory(team=team, family_name="Mills", opened_on=datetime.date(2026, 1, 5))
    daren = PersonFactory(first_name="Daren", last_name="Mils", date_of_birth=None)
    MembershipFactory(case=mother, person=daren, relationship="sibling")

    page.set_viewport_size(PHONE)
    sign_in(page, "amira", password)
    page.goto(f"/cases/{carter.pk}/")
    page.get_by_role("link", name="Add a person").first.click()
    page.get_by_label("First name").fill("Mills")  # swapped, and no date of birth
    page.get_by_label("Last name").fill("Darren")
    page.get_by_role("button", name="Search").click()
    assert "?" not in page.url and "Darren" not in page.url
    matches = page.get_by_role("region", name="Possible matches").inner_text()
    assert "Darren Mills" in matches and "same name, first and last swapped" in matches
    assert "1 case you cannot see" in matches and walsh.reference not in matches
    axe.check(page, "add a person: matches by name alone (360px)")
    screenshot(page, "person-search-360")
    page.get_by_role("radio", name="Darren Mills", exact=True).check()
    page.get_by_role("group", name="Relationship in this family").get_by_label(
        "Father", exact=True
    ).check()
    page.get_by_role("group", name="Do they live in the household?").get_by_label(
        "No, they live elsewhere"
    ).check()
    fill_date(page, "Date they joined the household or the case", datetime.date(2026, 2, 1))
    page.get_by_role("button", name="Add to the case").click()

    page.wait_for_url(f"**/cases/{carter.pk}/")
    banner = page.get_by_role("region", name="Hazards for anyone visiting").inner_text()
    assert "Aggressive adult" in banner and "Darren Mills" in banner
    assert Person.objects.filter(first_name="Darren", last_name="Mills").count() == 1
    assert Membership.objects.filter(case=carter, person=darren).exists()
    axe.check(page, "case page with his hazard (360px)")

    # The manager merges the misspelled record into his.
    page.context.clear_cookies()
    sign_in(page, "grace", password)
    page.goto(f"/cases/{mother.pk}/people/{daren.pk}/edit/")
    page.get_by_role("link", name="Merge with another record").click()
    axe.check(page, "merge: records like this one (360px)")
    page.get_by_role("radio", name=f"Darren Mills (record {darren.pk})").check()
    page.get_by_role("button", name="Continue").click()
    axe.check(page, "merge: the two records side by side (360px)")
    screenshot(page, "person-merge-confirm-360")
    page.get_by_role("radio", name=f"Darren Mills (record {darren.pk})").check()
    page.get_by_label("Why are these records the same person?").fill(
        "Same man: the mother confirmed the spelling"
    )
    page.get_by_role("button", name="Merge the records").click()
    page.wait_for_url(f"**/cases/{mother.pk}/people/{darren.pk}/edit/")
    assert "Merged from 1 other record" in page.content()
    axe.check(page, "person page after the merge (360px)")
    daren.refresh_from_db()
    assert daren.merged_into == darren
    assert set(Membership.objects.filter(person=darren).values_list("case", flat=True)) == {
        walsh.pk,
        carter.pk,
        mother.pk,
    }
    assert page.console_errors == []

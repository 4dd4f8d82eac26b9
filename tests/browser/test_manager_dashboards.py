"""A team manager and a service manager open their dashboards and follow a figure to the
list behind it, at desktop width and at 360 px, checked with axe-core."""

import datetime
import re

import pytest
from django.utils import timezone

from accounts import roles
from tests.browser.signing_in import sign_in
from tests.factories import (
    CaseFactory,
    EscalationFactory,
    HazardFactory,
    MembershipFactory,
    PersonFactory,
    PlanFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def at_360(page, axe, label):
    page.set_viewport_size({"width": 360, "height": 800})
    axe.check(page, f"{label} at 360 px")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, label
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture
def families(db):
    today = timezone.localdate()
    north = TeamFactory(name="North Assessment", code="north")
    south = TeamFactory(name="South Assessment", code="south")
    grace = UserFactory(
        username="grace",
        first_name="Grace",
        last_name="Okafor",
        team=north,
        role=roles.TEAM_MANAGER,
    )
    UserFactory(
        username="helen",
        first_name="Helen",
        last_name="Price",
        team=north,
        role=roles.SERVICE_MANAGER,
    )
    amira = UserFactory(username="amira", first_name="Amira", last_name="Hussain", team=north)
    sam = UserFactory(username="sam", first_name="Sam", last_name="Adeyemi", team=south)
    # Carter: Mia on a plan, never seen since the case opened two months ago; an overdue
    # escalation; a dog.
    carter = CaseFactory(
        team=north,
        family_name="Carter",
        created_by=grace,
        opened_on=today - datetime.timedelta(days=60),
    )
    carter.allocated_workers.add(amira)
    mia = PersonFactory(
        first_name="Mia",
        last_name="Carter",
        created_by=grace,
        date_of_birth=datetime.date(2019, 5, 1),
    )
    MembershipFactory(case=carter, person=mia, start_date=carter.opened_on)
    PlanFactory(case=carter, child=mia, start_date=today - datetime.timedelta(days=50))
    HazardFactory(case=carter, created_by=grace, start_date=carter.opened_on)
    EscalationFactory(
        case=carter,
        state="overdue",
        trigger_date=today - datetime.timedelta(days=20),
        due_date=today - datetime.timedelta(days=3),
    )
    # South: one family, a child in need.
    bell = CaseFactory(
        team=south,
        family_name="Bell",
        created_by=sam,
        opened_on=today - datetime.timedelta(days=10),
    )
    bell.allocated_workers.add(sam)
    MembershipFactory(
        case=bell,
        person=PersonFactory(first_name="Leo", last_name="Bell", created_by=sam),
        start_date=bell.opened_on,
    )
    return north, south


def test_it_shows_a_team_manager_their_team_and_the_lists_behind_it(
    page, axe, screenshot, password, families
):
    sign_in(page, "grace", password)
    page.get_by_role("link", name="Dashboard").first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "North Assessment"
    axe.check(page, "team dashboard")
    screenshot(page, "team-dashboard")
    figure = page.get_by_role("link", name=re.compile("Children not seen within policy"))
    assert figure.locator(".app-figure__value").inner_text() == "1"
    # The workload chart has its table.
    page.get_by_text("Workload per worker as a table").click()
    table = page.locator("#chart-workload-table")
    assert "Amira Hussain" in table.inner_text()
    at_360(page, axe, "team dashboard")

    figure.click()
    assert page.get_by_role("heading", level=1).inner_text() == "Children not seen within policy"
    row = page.get_by_role("row", name=re.compile("Mia Carter"))
    assert "Overdue" in row.inner_text() and "Not yet seen" in row.inner_text()
    axe.check(page, "children not seen (team)")
    at_360(page, axe, "children not seen (team)")
    page.get_by_role("link", name="North Assessment dashboard").click()
    assert "Bell" not in page.content()
    assert page.console_errors == []


def test_it_shows_a_service_manager_every_team_side_by_side(
    page, axe, screenshot, password, families
):
    sign_in(page, "helen", password)
    page.get_by_role("link", name="Dashboard").first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "All teams"
    axe.check(page, "service dashboard")
    screenshot(page, "service-dashboard")
    at_360(page, axe, "service dashboard")

    page.get_by_role("link", name="North Assessment, Overdue: 1").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Escalations overdue"
    assert "Carter" in page.get_by_role("table").inner_text()
    axe.check(page, "overdue escalations (north)")
    page.get_by_role("link", name="North Assessment dashboard").click()
    axe.check(page, "team dashboard opened by the service manager")
    page.get_by_role("link", name="All teams").click()

    page.get_by_role("link", name="All teams, Children in need: 1").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Children in need"
    assert "Leo Bell" in page.get_by_role("table").inner_text()
    axe.check(page, "children in need (all teams)")
    at_360(page, axe, "children in need (all teams)")
    assert page.console_errors == []

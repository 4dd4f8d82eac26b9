"""A worker on a phone records the fourth defaulted visit with the keyboard alone."""

import datetime

import pytest
from django.utils import timezone

from accounts import roles
from cases.models import Escalation
from safeguarding.celery import app as celery_app
from tests.factories import CaseFactory, MembershipFactory, TeamFactory, UserFactory
from tests.second_factor import app_code, authenticator_for
from visits import services
from visits.models import Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def eager_tasks():
    # No worker runs beside the live server: tasks run where they are sent.
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def focused(page, locator) -> bool:
    return locator.evaluate("el => el === document.activeElement")


def tab_to(page, locator, limit=250):
    """Press Tab until the element has focus: it must be reachable by keyboard."""
    for _ in range(limit):
        if focused(page, locator):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"could not reach {locator} with the Tab key")


def choose(page, group, option):
    """Pick a radio with the keyboard: Tab into the group, arrows to the option."""
    fieldset = page.get_by_role("group", name=group, exact=True)
    radios = fieldset.get_by_role("radio")
    target = fieldset.get_by_role("radio", name=option, exact=True)
    tab_to(page, radios.first)
    for _ in range(radios.count()):
        if target.is_checked():
            return
        page.keyboard.press("ArrowDown")
    assert target.is_checked(), f"{option} in {group}"


def type_into(page, locator, text):
    tab_to(page, locator)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def test_it_lets_a_worker_record_the_fourth_default_by_keyboard_at_360px(
    browser, live_server, axe, screenshot, password, eager_tasks
):
    team = TeamFactory(name="North Assessment", code="north")
    worker = UserFactory(username="amira", first_name="Amira", last_name="Hussain", team=team)
    UserFactory(username="grace", team=team, role=roles.TEAM_MANAGER, email="grace@council.example")
    case = CaseFactory(team=team, family_name="Walsh", opened_on=datetime.date(2026, 1, 5))
    case.allocated_workers.add(worker)
    MembershipFactory(case=case, person__first_name="Tyler", person__last_name="Walsh")
    now = timezone.now()
    for days in (9, 6, 3):
        when = now - datetime.timedelta(days=days)
        services.visit_log(
            actor=worker,
            case=case,
            now=now,
            data=services.Outcome(
                outcome="defaulted", occurred_at=when, default_reason="no_answer"
            ),
        )

    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 360, "height": 780}, has_touch=True
    )
    page = context.new_page()
    app = authenticator_for("amira")
    page.goto("/accounts/sign-in/")
    type_into(page, page.get_by_label("Username"), "amira")
    type_into(page, page.get_by_label("Password", exact=True), password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/accounts/sign-in/code/")
    type_into(page, page.get_by_label("Code"), app_code(app))
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboards/mine/")
    page.goto(f"/cases/{case.pk}/")
    link = page.get_by_role("link", name="Record a visit")
    tab_to(page, link)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/cases/{case.pk}/visits/record/")
    axe.check(page, "record a visit (360 px)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    choose(
        page,
        "What happened?",
        "The family defeated it (no answer, refused entry, not in, "
        "did not attend, cancelled by them)",
    )
    choose(page, "If the family defeated it, how?", "Refused entry")
    type_into(
        page,
        page.get_by_label("Anyone else there"),
        "A man answered, would not give his name, about 30, tattoo on his neck",
    )
    submit = page.get_by_role("button", name="Save visit")
    tab_to(page, submit)
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    if page.get_by_role("alert").count():
        screenshot(page, "failed-visit-form")
        raise AssertionError(page.get_by_role("alert").first.inner_text())
    page.wait_for_url(f"**/cases/{case.pk}/")

    visit = Visit.objects.filter(case=case).latest("id")
    assert visit.outcome == "defaulted" and visit.default_reason == "refused_entry"
    assert "tattoo on his neck" in visit.others_present
    escalation = Escalation.objects.get(case=case)
    assert escalation.state == "open" and escalation.required_meeting == "multi_agency"

    banner = page.get_by_role("region", name="Escalation: a meeting is due")
    assert "Multi-agency meeting due by" in banner.inner_text()
    axe.check(page, "case page with escalation (360 px)")
    screenshot(page, "case-page-escalation-360")
    page.goto(f"/cases/{case.pk}/visits/record/")
    assert page.get_by_role("region", name="Escalation: a meeting is due").is_visible()
    context.close()

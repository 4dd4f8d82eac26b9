"""A supervisor records a supervision on a phone: two cases discussed, worries and
wellbeing, held and signed off; every page clean under axe-core."""

import datetime

import pytest
from django.utils import timezone

from accounts import roles
from supervision.models import Action, CaseDiscussion, Decision, SupervisionSession
from tests.browser.signing_in import sign_in
from tests.factories import CaseFactory, MembershipFactory, PlanFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_date(page, name, day: datetime.date):
    page.locator(f"[name={name}-day]").fill(str(day.day))
    page.locator(f"[name={name}-month]").fill(str(day.month))
    page.locator(f"[name={name}-year]").fill(str(day.year))


def narrow(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def discuss(page, axe, family, lived, *, decision="", action="", owner="", due=None):
    page.get_by_role("link", name="Discuss a case").click()
    page.get_by_label("Case discussed").select_option(label=family)
    page.get_by_label("What is life like for the child now, in a sentence?").fill(lived)
    page.get_by_label("What are your assumptions about the family").fill(
        "That dad has left; the neighbour says his van is there most nights"
    )
    page.get_by_label("Can you picture what life is like for this child?").fill(
        "Quiet, watchful, hungry by the afternoon"
    )
    for name in ("assessment_changed", "other_source", "other_explanations", "hypothesis"):
        page.locator(f"[name={name}_not_discussed]").check()
    if decision:
        page.get_by_label("Decision made").fill(decision)
        page.get_by_label("Reasons for the decision").fill("No change at two reviews")
    if action:
        page.get_by_label("Action agreed").fill(action)
        page.get_by_label("Who will do it?").select_option(label=owner)
        fill_date(page, "due_date", due)
    page.get_by_role("button", name="Save discussion").click()
    page.wait_for_load_state()


def test_it_lets_a_supervisor_record_a_session_with_two_case_discussions_at_360px(
    browser, live_server, axe, screenshot, password
):
    team = TeamFactory(name="North Assessment", code="north")
    worker = UserFactory(username="amira", first_name="Amira", last_name="Hussain", team=team)
    UserFactory(
        username="priya",
        first_name="Priya",
        last_name="Shah",
        team=team,
        role=roles.PRACTICE_SUPERVISOR,
    )
    cases = []
    for family in ("Walsh", "Carter"):
        case = CaseFactory(team=team, family_name=family, opened_on=datetime.date(2026, 1, 5))
        case.allocated_workers.add(worker)
        child = MembershipFactory(case=case, start_date=datetime.date(2026, 1, 5))
        cases.append(case)
    PlanFactory(case=cases[1], child=child.person, start_date=datetime.date(2026, 1, 12))
    today = timezone.localdate()

    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 360, "height": 780}, has_touch=True
    )
    page = context.new_page()
    sign_in(page, "priya", password, lands_on="**/dashboards/mine/")
    page.goto("/supervision/")
    axe.check(page, "supervision lists (360 px)")
    narrow(page)

    page.get_by_role("link", name="Arrange supervision").click()
    page.get_by_label("Who is being supervised?").select_option(
        label="Amira Hussain (Social worker)"
    )
    fill_date(page, "date", today)
    page.get_by_role("button", name="Arrange").click()
    page.wait_for_url("**/supervision/*/")
    session = SupervisionSession.objects.get()
    axe.check(page, "session (360 px)")
    page.goto("/supervision/")
    undiscussed = page.get_by_role("region", name="Child protection cases not discussed")
    assert "Carter" in undiscussed.inner_text() and "Walsh" not in undiscussed.inner_text()
    axe.check(page, "supervision lists with a CP case not discussed (360 px)")
    page.goto(f"/supervision/{session.pk}/")

    # A discussion missing answers comes back with the errors and what was typed.
    page.get_by_role("link", name="Discuss a case").click()
    axe.check(page, "discuss a case (360 px)")
    narrow(page)
    page.get_by_label("Case discussed").select_option(label=f"Walsh ({cases[0].reference})")
    page.get_by_label("What is life like for the child now, in a sentence?").fill(
        "Tyler stays in his room when the new partner is home"
    )
    page.get_by_role("button", name="Save discussion").click()
    page.wait_for_load_state()
    summary = page.get_by_role("alert")
    assert "There is a problem" in summary.inner_text()
    assert "Give an answer, or mark it not discussed" in summary.inner_text()
    axe.check(page, "discussion with errors (360 px)")
    lived = page.get_by_label("What is life like for the child now, in a sentence?")
    assert lived.input_value() == "Tyler stays in his room when the new partner is home"
    page.goto(f"/supervision/{session.pk}/")

    discuss(
        page,
        axe,
        f"Walsh ({cases[0].reference})",
        "Tyler stays in his room when the new partner is home",
        decision="Next visit unannounced, after 6pm",
    )
    page.wait_for_url(f"**/supervision/{session.pk}/")
    discuss(
        page,
        axe,
        f"Carter ({cases[1].reference})",
        "Mia is hungry at school and wary of adults at home",
        action="See Mia alone at school",
        owner=worker.get_full_name() + " (Social worker)",
        due=today + datetime.timedelta(days=7),
    )
    page.wait_for_url(f"**/supervision/{session.pk}/")
    assert CaseDiscussion.objects.filter(session=session).count() == 2
    assert Decision.objects.get().case == cases[0]
    assert Action.objects.get().owner == worker

    page.get_by_role("link", name="Worries and wellbeing").click()
    page.get_by_label("Which case worries you most?").select_option(
        label=f"Carter ({cases[1].reference})"
    )
    page.get_by_label("Why does it worry you most?").fill("No change since the plan began")
    page.get_by_label("Effect of hostility or violence on the worker").fill(
        "Threatened on the doorstep last week"
    )
    page.get_by_label("Support agreed").fill("Joint visits to this family")
    axe.check(page, "worries and wellbeing (360 px)")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/supervision/{session.pk}/")

    page.get_by_role("link", name="Record it took place").click()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**/supervision/{session.pk}/")
    page.get_by_role("link", name="Sign off").click()
    axe.check(page, "sign off (360 px)")
    page.get_by_role("button", name="Sign off").click()
    page.wait_for_url(f"**/supervision/{session.pk}/")
    assert "Signed off" in page.inner_text("main")
    axe.check(page, "signed-off session (360 px)")
    narrow(page)
    screenshot(page, "supervision-session-360")
    session.refresh_from_db()
    assert session.status == "held" and session.signed_off_at is not None
    assert session.wellbeing_impact == "Threatened on the doorstep last week"

    # After sign-off the action is changed from the session page, with a reason.
    page.get_by_role("link", name="Change the action: See Mia alone at school").click()
    axe.check(page, "change an action (360 px)")
    narrow(page)
    described = page.get_by_label("Action agreed")
    assert described.input_value() == "See Mia alone at school"
    described.fill("See Mia alone at school, with the school nurse")
    page.get_by_role("button", name="Save action").click()
    page.wait_for_load_state()
    assert "This record is signed off" in page.get_by_role("alert").inner_text()
    assert described.input_value() == "See Mia alone at school, with the school nurse"
    axe.check(page, "change an action, reason needed (360 px)")
    page.get_by_label("Why are you changing a signed-off record?").fill(
        "The nurse can see her on Tuesdays"
    )
    page.get_by_role("button", name="Save action").click()
    page.wait_for_url(f"**/supervision/{session.pk}/")
    assert "The nurse can see her on Tuesdays" in page.inner_text("main")
    assert Action.objects.get().description == "See Mia alone at school, with the school nurse"

    page.goto("/supervision/")
    assert "Every child protection case has been discussed in time" in page.inner_text("main")
    page.goto(f"/cases/{cases[0].pk}/")
    assert "Next visit unannounced, after 6pm" in page.inner_text("main")
    assert "Threatened on the doorstep" not in page.content()
    axe.check(page, "case page with supervision decisions (360 px)")
    context.close()

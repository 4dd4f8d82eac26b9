"""On a phone, a worker records a visit with what the child said, then fixes the notes:
nothing else they recorded is lost, and the observation is there once."""

import datetime

import pytest

from tests.browser.signing_in import sign_in
from tests.factories import CaseFactory, MembershipFactory, TeamFactory, UserFactory
from visits.models import ChildSeen, Observation, Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORDS = "I like school dinners"
SEEN = "Mum picked Amy up when she cried and sang to her"


def test_changing_only_the_notes_keeps_the_childs_words_answers_and_observation_at_360px(
    browser, live_server, axe, screenshot, password
):
    team = TeamFactory(name="North Assessment", code="north")
    worker = UserFactory(username="amira", first_name="Amira", last_name="Hussain", team=team)
    case = CaseFactory(team=team, family_name="Carter", opened_on=datetime.date(2026, 1, 5))
    case.allocated_workers.add(worker)
    amy = MembershipFactory(case=case, person__first_name="Amy", person__last_name="Carter").person
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 360, "height": 780}, has_touch=True
    )
    page = context.new_page()
    sign_in(page, "amira", password, lands_on="**/dashboards/mine/")

    # Record the visit.
    page.goto(f"/cases/{case.pk}/")
    page.get_by_role("link", name="Record a visit").click()
    page.get_by_role("group", name="What happened?").get_by_label("The visit happened").check()
    page.get_by_role("group", name="Was Amy seen?").get_by_label("Yes").check()
    page.get_by_role("group", name="Was Amy seen alone?").get_by_label("Yes").check()
    page.get_by_role("group", name="Was Amy's bedroom seen?").get_by_label("Yes").check()
    page.get_by_label("What Amy said, in their own words").fill(WORDS)
    page.get_by_label("How Amy presented").fill("Chatty, clean clothes")
    page.get_by_label("Direct observation: what you saw between parent and child").fill(SEEN)
    page.get_by_label("Your analysis of what you saw").fill("Warm, attuned")
    page.get_by_label("Other notes").fill("Kitchen tidy, fridge emtpy")
    page.get_by_role("button", name="Save visit").click()
    page.wait_for_url(f"**/cases/{case.pk}/")
    visit = Visit.objects.get(case=case)

    # Open it again and change only the notes.
    page.goto(f"/cases/{case.pk}/visits/{visit.pk}/")
    page.get_by_role("link", name="Change what happened").click()
    page.wait_for_url(f"**/cases/{case.pk}/visits/{visit.pk}/outcome/")
    axe.check(page, "change what happened (360 px)")
    screenshot(page, "change-what-happened-360")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.get_by_label("What Amy said, in their own words").input_value() == WORDS
    assert page.get_by_role("group", name="Was Amy seen alone?").get_by_label("Yes").is_checked()
    observation = page.get_by_role("group", name="Observation 1")
    assert observation.get_by_label("Direct observation: what you saw").input_value() == SEEN
    notes = page.get_by_label("Other notes")
    assert notes.input_value() == "Kitchen tidy, fridge emtpy"
    notes.fill("Kitchen tidy, fridge empty")
    page.get_by_role("button", name="Save visit").click()
    page.wait_for_url(f"**/cases/{case.pk}/")

    # Everything else is still there, and the observation once.
    page.goto(f"/cases/{case.pk}/visits/{visit.pk}/")
    shown = page.get_by_role("main").inner_text()
    assert "Amy Carter: seen alone" in shown
    assert f"“{WORDS}”" in shown
    assert "Chatty, clean clothes" in shown
    assert shown.count(SEEN) == 1
    assert "Kitchen tidy, fridge empty" in shown
    screenshot(page, "visit-after-changing-the-notes-360")
    row = ChildSeen.objects.get(visit=visit, child=amy)
    assert (row.seen, row.seen_alone, row.bedroom_seen, row.child_views) == (
        True,
        True,
        True,
        WORDS,
    )
    assert list(
        Observation.objects.filter(visit=visit).values_list("what_was_seen", flat=True)
    ) == [SEEN]
    context.close()

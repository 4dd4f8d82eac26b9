"""A worker opens a case; the team manager, from the child's page, sees who has looked
at the child, filters the log, and information governance see what the worker looked
at, at 320 px too. Every page is clean for axe."""

import pytest

from accounts import roles
from tests.browser.signing_in import sign_in
from tests.factories import CaseFactory, MembershipFactory, PersonFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_and_governance_read_who_looked_at_a_child(
    browser, live_server, page, axe, password
):
    team = TeamFactory(name="North Assessment", code="north")
    amira = UserFactory(username="amira", first_name="Amira", last_name="Hussain", team=team)
    UserFactory(
        username="grace", first_name="Grace", last_name="Okafor", team=team, role=roles.TEAM_MANAGER
    )
    UserFactory(
        username="lena",
        first_name="Lena",
        last_name="Ward",
        team=None,
        role=roles.INFORMATION_GOVERNANCE,
    )
    case = CaseFactory(team=team, family_name="Carter", reference="SG-2026-00042")
    case.allocated_workers.add(amira)
    ava = MembershipFactory(
        case=case, person=PersonFactory(first_name="Ava", last_name="Carter")
    ).person

    # The worker looks at the case, and tries a case that is not there.
    worker = browser.new_context(base_url=live_server.url).new_page()
    sign_in(worker, "amira", password)
    worker.goto(f"/cases/{case.pk}/")
    assert "Ava" in worker.inner_text("main")
    worker.context.close()

    sign_in(page, "grace", password)
    page.goto(f"/cases/{case.pk}/people/{ava.pk}/edit/")
    page.get_by_role("link", name="Who has looked at this record").click()
    page.wait_for_url(f"**/governance/access/child/?person={ava.pk}")
    main = page.inner_text("main")
    assert "Who has looked at Ava Carter" in main
    row = page.get_by_role("row").filter(has_text="viewed case page")
    assert "amira" in row.inner_text() and "SG-2026-00042" in row.inner_text()
    assert "Shown" in row.inner_text()
    axe.check(page, "who looked at a child")

    page.get_by_label("Outcome").select_option("refused")
    page.get_by_role("button", name="Apply filters").click()
    assert "0 entries match the filters" in page.inner_text("main")
    assert "Carter" not in page.url and "Ava" not in page.url
    axe.check(page, "who looked at a child, filtered")

    lena = browser.new_context(
        base_url=live_server.url, viewport={"width": 320, "height": 800}
    ).new_page()
    sign_in(lena, "lena", password)
    lena.goto("/governance/access/")
    lena.get_by_label("User").select_option(label="Amira Hussain (amira)")
    lena.get_by_role("button", name="Show what they looked at").click()
    lena.wait_for_url("**/governance/access/user/?user=*")
    assert "What Amira Hussain looked at" in lena.inner_text("main")
    assert "Ava Carter" in lena.inner_text("main")
    width = lena.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, width
    axe.check(lena, "what a user looked at, 320 px")
    lena.context.close()
    assert page.console_errors == []

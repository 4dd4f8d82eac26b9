"""A worker's sign-in is paused after too many wrong passwords, with the reason on the
sign-in page; business support unlock it from Notifications; the pages are clean for axe."""

import pytest

from accounts import roles
from accounts.models import SignInUnlock
from tests.browser.signing_in import give_password, sign_in
from tests.factories import TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_paused_sign_in_is_explained_and_business_support_unlock_it(
    page, axe, password, browser, live_server
):
    team = TeamFactory(name="North Assessment", code="north")
    UserFactory(username="amira", first_name="Amira", last_name="Hussain", team=team)
    UserFactory(
        username="bea", first_name="Bea", last_name="Okafor", team=team, role=roles.BUSINESS_SUPPORT
    )

    for n in range(5):
        give_password(page, "amira", f"not-my-password-{n}")
    summary = page.locator(".govuk-error-summary")
    assert "Sign-in to this account from here is paused after 5 failed attempts" in (
        summary.inner_text()
    )
    assert "ask business support to unlock it" in summary.inner_text()
    axe.check(page, "sign-in paused")

    give_password(page, "amira", password)
    assert "paused" in page.locator(".govuk-error-summary").inner_text()
    # Chromium logs each 429 as a failed load; nothing else may go wrong.
    assert [e for e in page.console_errors if "status of 429" not in e] == []

    support = browser.new_context(base_url=live_server.url)
    bea = support.new_page()
    sign_in(bea, "bea", password)
    bea.goto("/accounts/notifications/")
    bea.get_by_role("link", name="Sign-in lockouts").click()
    bea.wait_for_url("**/accounts/lockouts/")
    axe.check(bea, "sign-in lockouts")
    row = bea.get_by_role("row").filter(has_text="amira")
    row.get_by_role("button", name="Unlock").click()
    bea.wait_for_url("**/accounts/lockouts/")
    assert "Unlocked sign-in for amira" in bea.inner_text("main")
    assert "Bea Okafor unlocked amira" in bea.inner_text("main")
    axe.check(bea, "sign-in lockouts, unlocked")
    support.close()

    sign_in(page, "amira", password, lands_on="**/dashboards/mine/")
    assert SignInUnlock.objects.get().unlocked_by.username == "bea"

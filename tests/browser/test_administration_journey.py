"""Business support add a user, give them a role and a temporary password, then switch
the account off, all from the Administration pages; the pages are clean for axe at
desktop width and at 320 px."""

import pytest
from django.contrib.sessions.models import Session

from accounts import roles
from accounts.models import RoleChange, User
from tests.browser.signing_in import sign_in
from tests.factories import TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_business_support_add_a_user_give_a_role_and_switch_them_off(
    page, axe, password, screenshot
):
    team = TeamFactory(name="North Assessment", code="north")
    UserFactory(
        username="bea", first_name="Bea", last_name="Okafor", team=team, role=roles.BUSINESS_SUPPORT
    )
    sign_in(page, "bea", password)
    page.get_by_role("link", name="Administration").first.click()
    page.wait_for_url("**/accounts/administration/")
    axe.check(page, "administration")

    page.get_by_role("link", name="Users").click()
    page.get_by_role("link", name="Add a user").click()
    page.get_by_label("Username").fill("nia.clarke")
    page.get_by_label("First name").fill("Nia")
    page.get_by_label("Last name").fill("Clarke")
    page.get_by_label("Email address").fill("nia.clarke@council.example")
    page.get_by_label("Job title").fill("Social worker")
    page.get_by_label("Team", exact=True).select_option(label="North Assessment")
    # Business support cannot give the System administrator role: it is not offered.
    assert page.get_by_label("System administrator").count() == 0
    page.get_by_label("Social worker").check()
    axe.check(page, "add a user")
    page.get_by_role("button", name="Add user").click()
    page.wait_for_url("**/accounts/users/*/")
    nia = User.objects.get(username="nia.clarke")
    assert "Nia Clarke added" in page.inner_text("main")

    # A role of more responsibility.
    page.get_by_role("link", name="Change details, team or role").click()
    page.get_by_label("Practice supervisor").check()
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"**/accounts/users/{nia.pk}/")
    main = page.inner_text("main")
    assert "Social worker → Practice supervisor" in main
    assert RoleChange.objects.filter(user=nia).count() == 2

    # A temporary password, then Nia signs in on another device.
    page.get_by_role("link", name="Give a temporary password").click()
    page.get_by_label("Temporary password").fill("Temporary-Pass-2026")
    page.get_by_role("button", name="Set temporary password").click()
    page.wait_for_url(f"**/accounts/users/{nia.pk}/")
    axe.check(page, "user page")
    screenshot(page, "administration-user-1280")

    other = page.context.browser.new_context(base_url=page.url.split("/accounts")[0])
    nia_page = other.new_page()
    sign_in(nia_page, "nia.clarke", "Temporary-Pass-2026")
    nia_page.wait_for_url("**/accounts/password/")
    nia_page.get_by_label("Current password").fill("Temporary-Pass-2026")
    nia_page.get_by_label("New password", exact=True).fill("Nia-chose-this-one-81")
    nia_page.get_by_label("Confirm new password").fill("Nia-chose-this-one-81")
    nia_page.get_by_role("button", name="Change password").click()
    nia_page.wait_for_url(lambda url: "/accounts/password/" not in url)
    assert "Your password has been changed" in nia_page.inner_text("main")

    # Switched off: Nia's session ends at once.
    page.get_by_role("link", name="Switch off account").click()
    page.get_by_label("Why is the account being switched off?").fill("Moved to another council")
    axe.check(page, "switch off")
    page.get_by_role("button", name="Switch off account").click()
    page.wait_for_url(f"**/accounts/users/{nia.pk}/")
    assert "switched off and they are signed out" in page.inner_text("main")
    assert "Moved to another council" in page.inner_text("main")
    nia_page.goto("/cases/")
    nia_page.wait_for_url("**/accounts/sign-in/**")
    other.close()
    nia.refresh_from_db()
    assert not nia.is_active
    assert not [
        s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(nia.pk)
    ]

    page.get_by_role("link", name="Users").first.click()
    page.wait_for_url("**/accounts/users/")
    axe.check(page, "users list")
    screenshot(page, "administration-users-1280")
    page.set_viewport_size({"width": 320, "height": 800})
    axe.check(page, "users list at 320 px")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    screenshot(page, "administration-users-320")
    page.goto(f"/accounts/users/{nia.pk}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    screenshot(page, "administration-user-320")
    assert page.console_errors == []

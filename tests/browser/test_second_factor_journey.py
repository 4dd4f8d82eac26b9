"""A worker's first sign-in: the password, then setting up an authenticator app from
the secret shown on the page, the recovery codes once, and on to My work. The next
sign-in asks for a code, and a wrong one is refused."""

import re

import pytest
from django.urls import reverse
from django_otp.oath import totp

from tests.factories import TeamFactory, UserFactory
from tests.second_factor import app_code, authenticator_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def code_for(secret_in_groups: str) -> str:
    from base64 import b32decode

    text = secret_in_groups.replace(" ", "")
    key = b32decode(text + "=" * (-len(text) % 8))
    return f"{totp(key):06d}"


def test_it_sets_up_an_app_at_the_first_sign_in_and_asks_for_a_code_after(page, axe, password):
    team = TeamFactory(name="North Assessment", code="north")
    UserFactory(username="amira", first_name="Amira", last_name="Hussain", team=team)
    mine = reverse("dashboards:mine")

    page.goto("/accounts/sign-in/")
    page.get_by_label("Username").fill("amira")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/sign-in/set-up-app/")
    assert page.get_by_role("heading", name="Set up an authenticator app").is_visible()
    assert page.get_by_role("img", name=re.compile("QR code")).is_visible()
    axe.check(page, "set up an app")

    # Someone who cannot scan types the key in.
    page.get_by_text("I cannot scan the QR code").click()
    secret = page.get_by_test_id("secret").inner_text()
    assert re.fullmatch(r"([A-Z2-7]{4} )+[A-Z2-7]{1,4}", secret)

    page.get_by_label("Code from your authenticator app").fill("000000")
    if code_for(secret) == "000000":  # one in a million: the wrong code must be wrong
        page.get_by_label("Code from your authenticator app").fill("111111")
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("link", name="The code is not right").is_visible()

    page.get_by_label("Code from your authenticator app").fill(code_for(secret))
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_text("Store these codes safely").is_visible()
    codes = page.get_by_test_id("recovery-codes").locator("li").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10
    axe.check(page, "recovery codes")
    page.get_by_role("link", name="I have stored my codes – continue").click()
    page.wait_for_url(f"**{mine}")
    assert page.console_errors == []

    # Signed out, the next sign-in asks for a code: a recovery code works.
    page.context.clear_cookies()
    page.goto("/accounts/sign-in/?next=/cases/")
    page.get_by_label("Username").fill("amira")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/sign-in/code/")
    axe.check(page, "code")
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/cases/")
    assert page.get_by_text("You used a recovery code. You have 9 left.").is_visible()

    page.goto(reverse("accounts:second_factor"))
    assert page.get_by_test_id("codes-left").inner_text() == "9"
    axe.check(page, "your second factor")
    page.get_by_label("Code from your authenticator app").fill(app_code(authenticator_for("amira")))
    page.get_by_role("button", name="Make new recovery codes").click()
    assert page.get_by_role("heading", name="Your new recovery codes").is_visible()

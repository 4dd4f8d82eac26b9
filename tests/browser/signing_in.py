"""Signing in through the real form, as every browser journey starts: the password,
then the code the user's authenticator app would show, worked out from their secret."""

from tests.second_factor import app_code, authenticator_for


def give_password(page, username, password):
    """The password step alone, as someone who gets it wrong."""
    page.goto("/accounts/sign-in/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in(page, username, password, *, lands_on: str | None = None):
    device = authenticator_for(username)
    page.goto("/accounts/sign-in/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/sign-in/code/")
    page.get_by_label("Code").fill(app_code(device))
    page.get_by_role("button", name="Continue").click()
    if lands_on:
        page.wait_for_url(lands_on)

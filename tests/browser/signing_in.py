"""Signing in through the real form, as every browser journey starts."""


def sign_in(page, username, password, *, lands_on: str | None = None):
    page.goto("/accounts/sign-in/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    if lands_on:
        page.wait_for_url(lands_on)

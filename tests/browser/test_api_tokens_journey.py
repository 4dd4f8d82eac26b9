"""A worker makes an API token from the menu, copies it from the page (shown once), uses
it, and revokes it; the page is clean for axe at each step."""

import re

import pytest
import requests

from tests.browser.signing_in import sign_in
from tests.factories import TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_worker_makes_uses_and_revokes_an_api_token(page, axe, password, live_server):
    team = TeamFactory(name="North Assessment", code="north")
    UserFactory(username="amira", first_name="Amira", last_name="Hussain", team=team)

    sign_in(page, "amira", password)
    page.get_by_role("link", name="API tokens").first.click()
    page.wait_for_url("**/accounts/api-tokens/")
    axe.check(page, "API tokens, none yet")

    page.get_by_role("button", name="Create a token").click()
    assert "Enter a name for the token" in page.inner_text("main")
    axe.check(page, "API tokens, name missing")

    page.get_by_label("Name").fill("Reporting script")
    page.get_by_role("button", name="Create a token").click()
    token = page.get_by_label(re.compile("Your token")).input_value()
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    axe.check(page, "API token shown once")

    def api():
        return requests.get(
            f"{live_server.url}/api/v1/cases/",
            headers={"Authorization": f"Token {token}"},
            timeout=10,
        ).status_code

    assert api() == 200
    page.goto("/accounts/api-tokens/")
    assert token not in page.content()
    row = page.get_by_role("row").filter(has_text="Reporting script")
    row.get_by_role("button", name="Revoke").click()
    page.wait_for_url("**/accounts/api-tokens/")
    assert "no longer works" in page.inner_text("main")
    assert "Revoked by its owner" in page.inner_text("main")
    axe.check(page, "API tokens, one revoked")
    assert api() == 401
    assert page.console_errors == []

"""Single sign-on against a real OpenID Provider (oidc-provider, OpenID Certified) in
Chromium: the sign-in page, the provider's login and consent, back signed in as the
linked user; and each refusal (unknown subject, an email that matches someone else,
an inactive user, a tampered nonce)."""

import re

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts import roles
from accounts.models import ExternalIdentity
from tests.factories import CaseFactory, TeamFactory, UserFactory
from tests.oidc import fixtures
from tests.oidc.fixtures import BACKEND

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
oidc_provider = fixtures.oidc_provider  # the provider, started for each test

SUB = "sub-amira-001"


@pytest.fixture
def amira(oidc_provider):
    team = TeamFactory(name="North Assessment", code="north")
    user = UserFactory(
        username="amira",
        first_name="Amira",
        last_name="Hussain",
        email="amira.hussain@council.example",
        team=team,
        role=roles.SOCIAL_WORKER,
    )
    ExternalIdentity.objects.create(
        user=user, issuer=oidc_provider.issuer, subject=SUB, created_at=timezone.now()
    )
    return user


@pytest.fixture
def journey(page, live_server, oidc_provider):
    """The browser reaches only the live server and the provider (the provider's pages
    name a web font; nothing leaves the machine)."""
    allowed = (live_server.url, oidc_provider.issuer)
    page.context.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(allowed) else route.abort(),
    )
    return page


def session_of(page):
    """The Django session the browser holds (empty when it holds none)."""
    for cookie in page.context.cookies():
        if cookie["name"] == "sessionid":
            return SessionStore(session_key=cookie["value"])
    return SessionStore()


def sign_in_at_provider(page, provider, login):
    page.goto("/accounts/sign-in/")
    page.get_by_role("button", name="Sign in with Council Login").click()
    page.wait_for_url(re.compile(re.escape(provider.issuer) + r"/interaction/"))
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password at all")
    page.locator("button[type=submit]").click()
    # Consent, the first time this account meets the client.
    page.get_by_role("button", name="Continue").click()


def test_it_signs_in_the_linked_user_and_signs_out_at_the_provider_too(
    journey, live_server, oidc_provider, amira, axe
):
    page = journey
    oidc_provider.set_account(
        SUB, email="amira.hussain@council.example", email_verified=True, name="Amira Hussain"
    )
    case = CaseFactory(team=amira.team)
    page.goto("/accounts/sign-in/")
    axe.check(page, "sign-in with single sign-on and passwords")
    # The button to the provider comes before the password form.
    html = page.content()
    assert html.index("Sign in with Council Login") < html.index('name="password"')

    sign_in_at_provider(page, oidc_provider, SUB)

    page.wait_for_url("**/dashboards/mine/")
    assert page.get_by_role("heading", level=1).inner_text() == "My work"
    session = session_of(page)
    assert session[SESSION_KEY] == str(amira.pk)
    assert session[BACKEND_SESSION_KEY] == BACKEND
    identity = ExternalIdentity.objects.get(user=amira)
    assert identity.last_sign_in_at is not None
    assert page.goto(f"/cases/{case.pk}/").status == 200

    page.get_by_role("button", name="Sign out").first.click()
    # At the provider's end-session page, the session here has already ended.
    page.wait_for_url(re.compile(re.escape(oidc_provider.issuer) + r"/session/end"))
    assert not Session.objects.filter(session_key=session.session_key).exists()
    answer = page.context.request.get(f"{live_server.url}/cases/{case.pk}/", max_redirects=0)
    assert answer.status == 302
    assert answer.headers["location"].startswith("/accounts/sign-in/")

    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url("**/accounts/sign-in/")
    page.goto(f"/cases/{case.pk}/")
    assert "/accounts/sign-in/" in page.url


def test_it_still_matches_by_subject_when_name_and_email_change_at_the_provider(
    journey, oidc_provider, amira
):
    oidc_provider.set_account(
        SUB, email="a.hussain@elsewhere.example", email_verified=True, name="A. Someone-Else"
    )
    sign_in_at_provider(journey, oidc_provider, SUB)
    journey.wait_for_url("**/dashboards/mine/")
    assert session_of(journey)[SESSION_KEY] == str(amira.pk)
    amira.refresh_from_db()
    assert amira.email == "amira.hussain@council.example"  # nothing copied from the provider


def test_it_refuses_an_unknown_subject_with_a_clear_page(journey, oidc_provider, amira, caplog):
    oidc_provider.set_account(
        "sub-stranger-404", email="stranger@council.example", email_verified=True, name="Ann Other"
    )
    with caplog.at_level("WARNING", logger="accounts.oidc"):
        sign_in_at_provider(journey, oidc_provider, "sub-stranger-404")
        journey.wait_for_url("**/oidc/callback/**")
    heading = journey.get_by_role("heading", level=1).inner_text()
    assert heading == "Your account is not set up in this system"
    assert "Ask business support" in journey.content()
    for personal in ("sub-stranger-404", "stranger@council.example", "Ann Other"):
        assert personal not in journey.content()
    assert SESSION_KEY not in session_of(journey)
    refusals = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("sub-stranger-404" in m and oidc_provider.issuer in m for m in refusals)


def test_it_never_matches_someone_else_by_their_email(journey, oidc_provider, amira):
    """A person the provider knows by another subject, whose email is Amira's, is not
    Amira."""
    oidc_provider.set_account(
        "sub-impostor-002", email=amira.email, email_verified=True, name="Amira Hussain"
    )
    sign_in_at_provider(journey, oidc_provider, "sub-impostor-002")
    journey.wait_for_url("**/oidc/callback/**")
    assert journey.get_by_role("heading", level=1).inner_text() == (
        "Your account is not set up in this system"
    )
    assert SESSION_KEY not in session_of(journey)


def test_it_refuses_a_linked_user_who_is_switched_off(journey, oidc_provider, amira):
    amira.is_active = False
    amira.save()
    oidc_provider.set_account(SUB, email=amira.email, email_verified=True, name="Amira Hussain")
    sign_in_at_provider(journey, oidc_provider, SUB)
    journey.wait_for_url("**/oidc/callback/**")
    assert journey.get_by_role("heading", level=1).inner_text() == (
        "Your account has been switched off"
    )
    assert SESSION_KEY not in session_of(journey)


def test_it_refuses_an_id_token_whose_nonce_is_not_the_one_sent(journey, oidc_provider, amira):
    """The nonce kept for this sign-in is changed while the browser is at the provider:
    the ID token, which carries the one sent, no longer matches."""
    oidc_provider.set_account(SUB, email=amira.email, email_verified=True, name="Amira Hussain")
    page = journey
    page.goto("/accounts/sign-in/")
    page.get_by_role("button", name="Sign in with Council Login").click()
    page.wait_for_url(re.compile(re.escape(oidc_provider.issuer) + r"/interaction/"))
    session = session_of(page)
    states = session["oidc_states"]
    for entry in states.values():
        entry["nonce"] = "not-the-nonce-that-was-sent"
    session["oidc_states"] = states
    session.save()
    page.locator("input[name=login]").fill(SUB)
    page.locator("input[name=password]").fill("any password at all")
    page.locator("button[type=submit]").click()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/oidc/callback/**")
    assert page.get_by_role("heading", level=1).inner_text() == "You could not be signed in"
    assert SESSION_KEY not in session_of(page)


def test_it_signs_in_through_the_provider_when_passwords_are_switched_off(
    journey, oidc_provider, amira, settings, axe
):
    settings.PASSWORD_SIGN_IN_ENABLED = False
    settings.AUTHENTICATION_BACKENDS = [BACKEND]
    oidc_provider.set_account(SUB, email=amira.email, email_verified=True, name="Amira Hussain")
    journey.goto("/accounts/sign-in/")
    assert journey.get_by_label("Username").count() == 0
    axe.check(journey, "sign-in with single sign-on only")
    sign_in_at_provider(journey, oidc_provider, SUB)
    journey.wait_for_url("**/dashboards/mine/")
    assert session_of(journey)[SESSION_KEY] == str(amira.pk)


def test_it_refuses_a_discovery_document_that_names_another_issuer(client, oidc_provider, settings):
    """Configured with the issuer plus a slash, the provider's document names the issuer
    without it: nothing is taken from it, and the sign-in page says single sign-on is not
    working rather than sending anyone anywhere."""
    settings.OIDC_OP_ISSUER = oidc_provider.issuer + "/"
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 503
    assert "is not working" in response.content.decode()


def test_its_check_command_prints_the_discovered_endpoints(oidc_provider, capsys):
    from django.core.management import call_command

    call_command("oidc_check")
    out = capsys.readouterr().out
    assert f"OIDC_OP_TOKEN_ENDPOINT: {oidc_provider.issuer}/token (discovered)" in out
    assert f"OIDC_OP_LOGOUT_ENDPOINT: {oidc_provider.issuer}/session/end (discovered)" in out

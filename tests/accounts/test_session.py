"""Sign in, session limits (DESIGN.md section 6) and the timeout warning's endpoints."""

import datetime
import time

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from accounts.middleware import SESSION_LAST_ACTIVE, SESSION_STARTED
from tests.second_factor import app_code, authenticator_for

LOGIN = reverse("accounts:login")
LOGOUT = reverse("accounts:logout")
CODE = reverse("accounts:second_factor_verify")
STATUS = "/session/status"
EXTEND = "/session/extend"
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def signed_in(client):
    return "_auth_user_id" in client.session


def sign_in(client, username, password, **extra):
    """The password, then the code from the user's authenticator app."""
    device = authenticator_for(username)
    response = client.post(LOGIN, {"username": username, "password": password, **extra})
    if response.status_code != 302:
        return response
    assert response["Location"] == CODE
    return client.post(CODE, {"code": app_code(device)})


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def minutes(n):
    return datetime.timedelta(minutes=n)


# --- Signing in -------------------------------------------------------------------------


@pytest.mark.django_db
def test_sign_in_page(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Sign in – Safeguarding case management</title>" in html
    assert 'name="username"' in html and 'name="password"' in html
    assert "govuk-error-summary" not in html
    assert "OFFICIAL-SENSITIVE" in html
    assert "<script>" not in html  # no inline script: CSP allows none
    assert ' style="' not in html


def test_sign_in_works_and_rotates_the_session_key(client, worker, password):
    client.get(LOGIN)
    session = client.session
    session["before"] = "anonymous"
    session.save()
    anonymous_key = session.session_key
    client.cookies[settings.SESSION_COOKIE_NAME] = anonymous_key

    response = sign_in(client, worker.username, password)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert signed_in(client)
    assert client.session.session_key != anonymous_key


def test_sign_in_goes_back_to_the_page_asked_for(client, worker, password):
    response = sign_in(client, worker.username, password, next="/cases/12/")
    assert response["Location"] == "/cases/12/"
    page = client.get(f"{LOGIN}?next=/cases/12/", follow=False)
    assert page.status_code == 302  # already signed in


def test_failed_sign_in_shows_an_error_summary(client, worker):
    response = sign_in(client, worker.username, "not-the-password")
    assert response.status_code == 200
    html = response.content.decode()
    assert "govuk-error-summary" in html
    assert "<title>Error: Sign in – Safeguarding case management</title>" in html
    assert 'value="worker"' in html  # the username typed is kept
    assert "not-the-password" not in html
    assert not signed_in(client)


@pytest.mark.django_db
def test_sign_in_page_explains_a_time_out(client):
    html = client.get(f"{LOGIN}?timeout=1").content.decode()
    assert "You were signed out to keep the records safe" in html
    assert "signed out to keep" not in client.get(LOGIN).content.decode()


@pytest.mark.django_db
def test_demo_logins_are_only_mentioned_in_demo_mode(client, settings):
    settings.DEMO_MODE = False
    assert "Demo sign-in details" not in client.get(LOGIN).content.decode()
    settings.DEMO_MODE = True
    html = client.get(LOGIN).content.decode()
    assert "Demo sign-in details" in html
    assert "bin/run" in html


def test_absolute_clock_starts_at_sign_in(client, worker, password, clock):
    client.get(LOGIN)
    session = client.session
    session[SESSION_STARTED] = time.time() - 11 * 60 * 60  # left over from before
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key

    sign_in(client, worker.username, password)

    assert client.session[SESSION_STARTED] == pytest.approx(time.time())
    assert client.session[SESSION_LAST_ACTIVE] == pytest.approx(time.time())


def test_sign_out_is_a_post_and_ends_the_session(client, worker, password):
    sign_in(client, worker.username, password)
    assert client.get(LOGOUT).status_code == 405
    assert signed_in(client)
    response = client.post(LOGOUT)
    assert response.status_code == 302
    assert not signed_in(client)
    assert client.get(STATUS).json() == {"signed_in": False}


# --- Limits -------------------------------------------------------------------------


def test_idle_session_is_signed_out_after_30_minutes(client, worker, password, clock):
    sign_in(client, worker.username, password)
    clock.shift(minutes(29))
    assert client.post(EXTEND).status_code == 200
    clock.shift(minutes(29))
    assert client.get(STATUS).status_code == 200
    clock.shift(minutes(2))  # 31 minutes since the last activity
    response = client.get(STATUS)
    assert response.status_code == 302 or response.json() == {"signed_in": False}
    assert not signed_in(client)


def test_busy_session_is_signed_out_after_12_hours(client, worker, password, clock):
    sign_in(client, worker.username, password)
    for _ in range(35):  # active every 20 minutes for 11h40m
        clock.shift(minutes(20))
        assert client.post(EXTEND).status_code == 200
    assert signed_in(client)
    clock.shift(minutes(21))  # 12h01m after sign-in, 21 minutes idle
    response = client.post(EXTEND)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?timeout=1"
    assert not signed_in(client)


def test_status_reports_time_left_without_counting_as_activity(client, worker, password, clock):
    sign_in(client, worker.username, password)
    clock.shift(minutes(20))
    body = client.get(STATUS).json()
    assert body["signed_in"] is True
    assert body["idle_seconds_remaining"] == 10 * 60
    assert body["absolute_seconds_remaining"] == 12 * 60 * 60 - 20 * 60
    assert body["seconds_remaining"] == 10 * 60
    assert body["warning_seconds"] == settings.SESSION_WARNING_SECONDS

    clock.shift(minutes(5))
    assert client.get(STATUS).json()["idle_seconds_remaining"] == 5 * 60  # not reset
    clock.shift(minutes(6))  # 31 minutes since sign-in, only status polls since
    response = client.get(STATUS)
    assert response.status_code == 302 or response.json() == {"signed_in": False}
    assert not signed_in(client)


def test_extend_counts_as_activity(client, worker, password, clock):
    sign_in(client, worker.username, password)
    clock.shift(minutes(25))
    response = client.post(EXTEND)
    assert response.status_code == 200
    assert response.json()["idle_seconds_remaining"] == 30 * 60
    clock.shift(minutes(25))  # 50 minutes after sign-in, 25 after extending
    body = client.get(STATUS).json()
    assert body["signed_in"] is True
    assert body["idle_seconds_remaining"] == 5 * 60
    assert body["absolute_seconds_remaining"] == 12 * 60 * 60 - 50 * 60


def test_extend_needs_post_and_csrf(worker, password):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.post(LOGIN)  # CSRF failure, but irrelevant: sign in below
    strict.force_login(worker)
    assert strict.get(EXTEND).status_code == 405
    assert strict.post(EXTEND).status_code == 403


@pytest.mark.django_db
def test_status_and_extend_when_signed_out(client):
    response = client.get(STATUS)
    assert response.status_code == 200
    assert response.json() == {"signed_in": False}
    assert client.post(EXTEND).status_code == 401


# --- Headers -------------------------------------------------------------------------


def test_signed_in_responses_are_not_stored(client, worker, password):
    sign_in(client, worker.username, password)
    assert "no-store" in client.get(STATUS)["Cache-Control"]
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert "no-store" in page["Cache-Control"]
    assert "Page not found" in page.content.decode()


@pytest.mark.django_db
def test_sign_in_page_has_a_strict_content_security_policy(client):
    policy = client.get(LOGIN)["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert "unsafe-inline" not in policy


@pytest.mark.django_db
def test_every_page_denies_the_browser_features_a_case_record_never_needs(client, worker, password):
    for response in (client.get(LOGIN), client.get("/healthz")):
        policy = response["Permissions-Policy"]
        for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
            assert f"{feature}=()" in policy
    sign_in(client, worker.username, password)
    assert "camera=()" in client.get("/cases/")["Permissions-Policy"]


def test_signed_in_page_carries_the_session_settings_for_the_warning(client, worker, password):
    sign_in(client, worker.username, password)
    html = client.get("/no-such-page/").content.decode()
    assert f'data-session-idle="{settings.SESSION_IDLE_SECONDS}"' in html
    assert f'data-session-warning="{settings.SESSION_WARNING_SECONDS}"' in html
    assert 'data-session-status-url="/session/status"' in html
    assert 'role="alertdialog"' in html
    assert '<meta name="csrf-token"' in html


def test_server_error_page_renders_without_a_request():
    from django.template import loader

    html = loader.get_template("500.html").render()
    assert "Sorry, there is a problem with the service" in html
    assert "Sign out" not in html


def test_messages_show_as_govuk_notification_banners():
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message
    from django.template import loader

    html = loader.get_template("404.html").render(
        {
            "messages": [
                Message(constants.SUCCESS, "Visit recorded"),
                Message(constants.INFO, "Case <b>moved</b>"),
            ]
        }
    )
    assert "govuk-notification-banner--success" in html
    assert 'role="alert"' in html
    assert ">Success</h2>" in html and ">Important</h2>" in html
    assert "Visit recorded" in html
    assert "Case &lt;b&gt;moved&lt;/b&gt;" in html

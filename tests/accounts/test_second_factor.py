"""The second factor at sign-in: a password alone reaches nothing; codes, throttling,
recovery codes, setting up an app the first time, `next`, and an administrator's reset."""

import datetime
import logging
import re

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import policy, roles, services
from accounts.models import SecondFactorReset
from tests.factories import CaseFactory, UserFactory, api_token_for
from tests.second_factor import app_code, authenticator_for

LOGIN = reverse("accounts:login")
CODE = reverse("accounts:second_factor_verify")
ENROL = reverse("accounts:second_factor_enrol")
MINE = reverse("accounts:second_factor")
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def case(team, worker):
    case = CaseFactory(team=team)
    case.allocated_workers.add(worker)
    return case


def signed_in(client):
    return "_auth_user_id" in client.session


def password_step(client, user, password, **extra):
    return client.post(LOGIN, {"username": user.username, "password": password, **extra})


def code_from_key(key_hex: str) -> str:
    return f"{totp(bytes.fromhex(key_hex)):06d}"


def enrol(client, user, password, **extra):
    """Sign in for the first time: password, then set up an app. Returns the page with
    the recovery codes and the codes."""
    assert password_step(client, user, password, **extra)["Location"] == ENROL
    client.get(ENROL)
    key = client.session["second_factor_new_key"]
    page = client.post(ENROL, {"code": code_from_key(key)})
    assert page.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", page.content.decode())
    return page, codes


# --- A password alone -------------------------------------------------------------------


def test_it_does_not_sign_in_with_the_password_alone(client, worker, password, case):
    authenticator_for(worker.username)
    response = password_step(client, worker, password)
    assert response.status_code == 302 and response["Location"] == CODE
    assert not signed_in(client)
    # Skipping the code page: the session is nobody's.
    page = client.get(f"/cases/{case.pk}/")
    assert page.status_code == 302 and page["Location"].startswith(LOGIN)
    admin = client.get("/admin/")
    assert admin.status_code == 302 and "/admin/login/" in admin["Location"]
    api = client.get("/api/v1/cases/")
    assert api.status_code == 401
    assert client.get(CODE).status_code == 200


def test_it_keeps_a_signed_in_session_without_a_second_factor_to_the_code_page(
    client, worker, case
):
    authenticator_for(worker.username)
    client.force_login(worker, second_factor=False)
    page = client.get(f"/cases/{case.pk}/")
    assert page.status_code == 302
    assert page["Location"] == f"{CODE}?next=%2Fcases%2F{case.pk}%2F"
    api = client.get("/api/v1/cases/")
    assert api.status_code == 403
    assert "authenticator app" in api.json()["detail"]
    htmx = client.get("/cases/", headers={"HX-Request": "true"})
    assert htmx.status_code == 204 and htmx["HX-Redirect"] == f"{CODE}?next=%2Fcases%2F"
    assert client.get("/healthz").status_code in (200, 503)
    assert client.get(CODE).status_code == 200
    # The code, and the page asked for.
    response = client.post(
        f"{CODE}?next=/cases/{case.pk}/", {"code": app_code(authenticator_for(worker.username))}
    )
    assert response["Location"] == f"/cases/{case.pk}/"
    assert client.get(f"/cases/{case.pk}/").status_code == 200


def test_it_sends_a_session_with_no_app_set_up_to_set_one_up(client, worker):
    client.force_login(worker, second_factor=False)
    assert client.get("/cases/")["Location"] == f"{ENROL}?next=%2Fcases%2F"


def test_it_holds_the_superuser_signed_in_by_the_admin_form_at_the_code(db, client, password):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    authenticator_for(admin.username)
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "root", "password": password, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert signed_in(client)  # Django's own admin form signs in...
    page = client.get("/admin/")
    assert page.status_code == 302 and page["Location"].startswith(CODE)  # ...and no further
    assert client.get("/admin/accounts/user/").status_code == 302


def test_it_lets_an_identity_provider_sign_in_through(client, worker, settings, case):
    backend = "django.contrib.auth.backends.ModelBackend"
    settings.SECOND_FACTOR_EXEMPT_BACKENDS = [backend]
    client.force_login(worker, backend=backend, second_factor=False)
    assert client.get(f"/cases/{case.pk}/").status_code == 200


def test_it_leaves_token_authenticated_api_requests_alone(worker, case):
    token = api_token_for(worker)
    response = Client().get("/api/v1/cases/", headers={"Authorization": f"Token {token}"})
    assert response.status_code == 200


# --- Codes ------------------------------------------------------------------------------


def test_it_signs_in_with_the_code_and_verifies_the_session(client, worker, password, case):
    device = authenticator_for(worker.username)
    password_step(client, worker, password, next=f"/cases/{case.pk}/")
    response = client.post(CODE, {"code": app_code(device)})
    assert response["Location"] == f"/cases/{case.pk}/"
    assert signed_in(client)
    assert client.session["otp_device_id"] == device.persistent_id
    assert client.get(f"/cases/{case.pk}/").status_code == 200


def test_it_refuses_a_wrong_code_with_a_message_and_logs_it(
    client, worker, password, caplog, clock
):
    device = authenticator_for(worker.username)
    password_step(client, worker, password)
    wrong = f"{(int(app_code(device)) + 1) % 1000000:06d}"
    with caplog.at_level(logging.WARNING, logger="accounts.second_factor"):
        response = client.post(CODE, {"code": wrong}, REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 400
    html = response.content.decode()
    assert "govuk-error-summary" in html and "The code is not right" in html
    assert not signed_in(client)
    [record] = [r for r in caplog.records if r.name == "accounts.second_factor"]
    assert record.levelno == logging.WARNING
    assert "worker" in record.getMessage() and "192.0.2.7" in record.getMessage()
    assert wrong not in record.getMessage()


def test_it_throttles_codes_after_a_wrong_one(client, worker, password, clock):
    device = authenticator_for(worker.username)
    password_step(client, worker, password)
    wrong = f"{(int(app_code(device)) + 1) % 1000000:06d}"
    for _ in range(3):
        client.post(CODE, {"code": wrong})
        clock.shift(datetime.timedelta(seconds=2**3))
    client.post(CODE, {"code": wrong})  # the fourth in a row: the next waits 8 seconds
    clock.shift(datetime.timedelta(seconds=5))
    response = client.post(CODE, {"code": app_code(device)})  # even the right code
    assert response.status_code == 400
    assert "Too many wrong codes. Wait 3 seconds, then try again." in response.content.decode()
    assert not signed_in(client)
    clock.shift(datetime.timedelta(seconds=4))
    assert client.post(CODE, {"code": app_code(device)})["Location"] == "/"
    assert signed_in(client)


def test_it_takes_a_recovery_code_once_only(client, worker, password):
    _, codes = enrol(client, worker, password)
    assert len(codes) == 10
    client.post(reverse("accounts:logout"))

    password_step(client, worker, password)
    response = client.post(CODE, {"code": codes[0].upper()})
    assert response["Location"] == "/"
    assert signed_in(client)
    assert services.recovery_codes_remaining(worker) == 9
    client.post(reverse("accounts:logout"))

    other = Client()
    password_step(other, worker, password)
    response = other.post(CODE, {"code": codes[0]})
    assert response.status_code == 400
    assert not signed_in(other)


def test_it_forgets_a_password_step_not_finished_in_time(client, worker, password, clock, settings):
    device = authenticator_for(worker.username)
    password_step(client, worker, password)
    clock.shift(datetime.timedelta(seconds=settings.SECOND_FACTOR_PENDING_SECONDS + 1))
    response = client.post(CODE, {"code": app_code(device)})
    assert response["Location"] == LOGIN
    assert not signed_in(client)


# --- Setting up an app the first time ---------------------------------------------------


def test_it_sets_up_an_app_at_the_first_sign_in(client, worker, password, case):
    response = password_step(client, worker, password, next=f"/cases/{case.pk}/")
    assert response["Location"] == ENROL
    page = client.get(ENROL).content.decode()
    assert 'src="data:image/svg+xml' in page
    key = client.session["second_factor_new_key"]
    from base64 import b32encode

    secret = b32encode(bytes.fromhex(key)).decode().rstrip("=")
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in page
    assert "<script>" not in page

    wrong = client.post(ENROL, {"code": "000000" if code_from_key(key) != "000000" else "111111"})
    assert wrong.status_code == 400 and not signed_in(client)

    done = client.post(ENROL, {"code": code_from_key(key)})
    html = done.content.decode()
    assert "Store these codes safely" in html
    assert len(re.findall(r"<li><code>[a-z2-7]{8}</code></li>", html)) == 10
    assert f'href="/cases/{case.pk}/"' in html
    assert signed_in(client)
    assert client.get(f"/cases/{case.pk}/").status_code == 200
    device = TOTPDevice.objects.get(user=worker, confirmed=True)
    assert device.key == key
    # Set up once: the page does not offer another.
    assert client.get(ENROL).status_code == 302


def test_it_refuses_a_next_address_on_another_site(client, worker, password):
    _, _ = enrol(client, worker, password, next="https://evil.example/")
    assert client.session.get("second_factor_pending") is None
    device = authenticator_for(worker.username)
    client.post(reverse("accounts:logout"))
    password_step(client, worker, password, next="https://evil.example/")
    assert client.post(CODE, {"code": app_code(device)})["Location"] == "/"


# --- Your own second factor --------------------------------------------------------------


def test_it_makes_new_recovery_codes_with_a_current_code(client, worker, password, clock):
    _, old = enrol(client, worker, password)
    device = authenticator_for(worker.username)
    page = client.get(MINE).content.decode()
    assert 'data-testid="codes-left">10<' in page
    assert client.post(MINE, {"code": old[0]}).status_code == 400  # an app code, not these
    response = client.post(MINE, {"code": app_code(device)})
    new = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", response.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert StaticDevice.objects.filter(user=worker, confirmed=False).count() == 1  # kept
    client.post(reverse("accounts:logout"))
    password_step(client, worker, password)
    assert client.post(CODE, {"code": old[1]}).status_code == 400
    clock.shift(datetime.timedelta(seconds=2))  # past the throttle's wait after a wrong code
    assert client.post(CODE, {"code": new[1]}).status_code == 302


# --- An administrator's reset ------------------------------------------------------------


@pytest.fixture
def support(team):
    return UserFactory(username="support", team=team, role=roles.BUSINESS_SUPPORT)


def test_it_resets_a_second_factor_logs_it_and_ends_the_sessions(client, worker, password, support):
    enrol(client, worker, password)
    assert client.get("/cases/").status_code == 200
    admin = Client()
    admin.force_login(support)
    url = reverse("accounts:second_factor_reset", kwargs={"pk": worker.pk})
    assert admin.get(url).status_code == 200
    blank = admin.post(url, {"reason": " "})
    assert blank.status_code == 400 and "Enter why" in blank.content.decode()
    response = admin.post(url, {"reason": "Lost phone, rang the service desk"})
    assert response.status_code == 302

    record = SecondFactorReset.objects.get(user=worker)
    assert record.reset_by == support and record.reason == "Lost phone, rang the service desk"
    assert record.devices_retired == 2 and record.sessions_ended == 1
    assert record.history.count() == 1
    assert TOTPDevice.objects.filter(user=worker, confirmed=False).count() == 1  # kept
    # The worker's session has ended; the administrator's has not.
    assert client.get("/cases/")["Location"].startswith(LOGIN)
    assert admin.get("/cases/").status_code == 200
    assert Session.objects.count() == 1
    # At the next sign-in they set up an app again.
    assert password_step(client, worker, password)["Location"] == ENROL


def test_it_ends_a_sign_in_part_way_through_when_reset(client, worker, password, support):
    authenticator_for(worker.username)
    password_step(client, worker, password)
    services.second_factor_reset(
        actor=support, user=worker, reason="Lost phone", now=timezone.now()
    )
    assert client.get(CODE)["Location"] == LOGIN


@pytest.mark.parametrize(
    ("actor_role", "allowed"),
    [
        (roles.BUSINESS_SUPPORT, True),
        (roles.SYSTEM_ADMINISTRATOR, True),
        ("superuser", True),
        (roles.SOCIAL_WORKER, False),
        (roles.TEAM_MANAGER, False),
        (roles.SERVICE_MANAGER, False),
        (roles.INFORMATION_GOVERNANCE, False),
    ],
)
def test_it_lets_only_support_and_administrators_reset(team, worker, actor_role, allowed):
    if actor_role == "superuser":
        actor = UserFactory(username="root", team=team, is_superuser=True)
    else:
        actor = UserFactory(username="actor", team=team, role=actor_role)
    assert policy.can_reset_second_factor(actor, worker) is allowed
    assert policy.can_reset_second_factor(actor, actor) is False  # never their own
    client = Client()
    client.force_login(actor)
    url = reverse("accounts:second_factor_reset", kwargs={"pk": worker.pk})
    assert client.get(url).status_code == (200 if allowed else 403)
    if not allowed:
        assert client.post(url, {"reason": "x"}).status_code == 403
        with pytest.raises(PermissionDenied):
            services.second_factor_reset(actor=actor, user=worker, reason="x", now=timezone.now())
        assert not SecondFactorReset.objects.exists()


def test_it_lets_only_a_superuser_reset_a_superuser(team, support):
    root = UserFactory(username="root", team=team, is_superuser=True)
    other_root = UserFactory(username="root2", team=team, is_superuser=True)
    assert policy.can_reset_second_factor(support, root) is False
    assert policy.can_reset_second_factor(other_root, root) is True
    inactive = UserFactory(username="gone", team=team, role=roles.BUSINESS_SUPPORT, is_active=False)
    assert policy.can_reset_second_factor(inactive, root) is False


# --- Demo mode ---------------------------------------------------------------------------


def test_it_prints_the_demo_code_only_in_demo_mode(worker, settings, capsys):
    settings.DEMO_MODE = settings.DEBUG = settings.TESTING = False
    with pytest.raises(CommandError):
        call_command("demo_code")

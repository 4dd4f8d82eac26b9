"""Sign-in lockout (django-axes) on the sign-in page and /admin/, and unlocking it.

Failed sign-ins go through the real form with Django's test client; the address is the
request's REMOTE_ADDR, read by accounts.services.client_ip as in production.
"""

import datetime
import logging

import pytest
import time_machine
from axes.models import AccessAttempt, AccessFailureLog
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts import lockout, policy, roles
from accounts.models import SignInUnlock
from accounts.services import sign_in_unlock
from tests.factories import PASSWORD, UserFactory
from tests.second_factor import sign_in_with_code

SIGN_IN = "/accounts/sign-in/"
LOCKOUTS = "/accounts/lockouts/"
HOME = "10.1.1.1"
AWAY = "10.2.2.2"
T0 = datetime.datetime(2026, 12, 7, 10, 0, tzinfo=datetime.UTC)


def attempt(client, username, password, *, address=HOME, path=SIGN_IN):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username, times, *, address=HOME, path=SIGN_IN):
    return [
        attempt(client, username, f"not-it-{n}", address=address, path=path) for n in range(times)
    ]


def signed_in_as(client):
    return client.session.get("_auth_user_id")


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)


def test_it_locks_a_username_at_an_address_after_the_failure_limit(client, worker):
    answers = fail(client, "worker", 5)

    assert [a.status_code for a in answers[:4]] == [200] * 4
    assert "Enter a correct username and password" in answers[0].content.decode()
    locked = answers[4]
    assert locked.status_code == 429
    assert 890 <= int(locked["Retry-After"]) <= 900

    right = attempt(client, "worker", PASSWORD)
    assert right.status_code == 429
    assert signed_in_as(client) is None
    page = right.content.decode()
    assert "govuk-error-summary" in page
    assert "Sign-in to this account from here is paused after 5 failed attempts" in page
    assert "(in 15 minutes)" in page
    assert "ask business support to unlock it" in page
    assert 'value="worker"' in page  # the username stays in its box


def test_it_refuses_the_right_password_while_locked_without_counting_it(client, worker):
    fail(client, "worker", 5)
    attempt(client, "worker", PASSWORD)
    attempt(client, "worker", "still-wrong")

    assert sum(a.failures_since_start for a in AccessAttempt.objects.all()) == 5
    record = AccessFailureLog.objects.filter(username="worker", ip_address=HOME)
    assert record.count() == 5 and record.filter(locked_out=True).count() == 1


def test_it_logs_the_lockout_naming_username_and_address_without_the_password(
    client, worker, caplog
):
    with caplog.at_level(logging.WARNING, logger="accounts.lockout"):
        fail(client, "worker", 5)
        attempt(client, "worker", PASSWORD)

    lines = [r.getMessage() for r in caplog.records if r.name == "accounts.lockout"]
    assert lines[0] == (
        f"Sign-in locked after 5 failed attempts: username 'worker' from address {HOME} ({SIGN_IN})"
    )
    assert lines[1].startswith("Sign-in refused while locked: username 'worker'")
    assert not any(PASSWORD in r.getMessage() or "not-it" in r.getMessage() for r in caplog.records)


def test_it_lets_the_same_username_in_from_another_address(client, worker):
    fail(client, "worker", 5, address=HOME)

    response = sign_in_with_code(client, "worker", PASSWORD, REMOTE_ADDR=AWAY)
    assert response.status_code == 302
    assert signed_in_as(client) == str(worker.pk)


def test_it_counts_failures_for_each_username_on_its_own(client, worker):
    UserFactory(username="colleague", team=worker.team)
    fail(client, "colleague", 5)

    assert attempt(client, "worker", PASSWORD).status_code == 302


def test_it_resets_the_count_when_sign_in_succeeds(client, worker):
    fail(client, "worker", 4)
    assert sign_in_with_code(client, "worker", PASSWORD, REMOTE_ADDR=HOME).status_code == 302
    assert signed_in_as(client) == str(worker.pk)
    client.post("/accounts/sign-out/")

    assert [a.status_code for a in fail(client, "worker", 4)] == [200] * 4


def test_it_ends_the_lockout_after_the_cool_off(client, worker):
    with time_machine.travel(T0, tick=False) as clock:
        fail(client, "worker", 5)
        clock.shift(datetime.timedelta(minutes=14, seconds=59))
        still = attempt(client, "worker", PASSWORD)
        assert still.status_code == 429
        assert still["Retry-After"] == "1"
        clock.shift(datetime.timedelta(seconds=2))

        assert attempt(client, "worker", PASSWORD).status_code == 302


def test_it_does_not_lengthen_the_pause_for_tries_while_locked(client, worker):
    with time_machine.travel(T0, tick=False) as clock:
        fail(client, "worker", 5)
        clock.shift(datetime.timedelta(minutes=10))
        fail(client, "worker", 3)
        clock.shift(datetime.timedelta(minutes=5, seconds=1))

        assert attempt(client, "worker", PASSWORD).status_code == 302


def test_it_locks_the_admin_login_too(client, db):
    UserFactory(username="root", is_staff=True, is_superuser=True)
    answers = fail(client, "root", 5, path="/admin/login/")

    assert [a.status_code for a in answers] == [200] * 4 + [429]
    right = attempt(client, "root", PASSWORD, path="/admin/login/")
    assert right.status_code == 429
    assert "Sign-in to this account from here is paused" in right.content.decode()
    assert signed_in_as(client) is None
    # The admin login and the sign-in page count together.
    assert attempt(client, "root", PASSWORD).status_code == 429


@pytest.mark.parametrize("path", [SIGN_IN, "/admin/login/"])
@pytest.mark.parametrize(
    ("username", "fifth"),
    [
        ("a" * 300, 429),
        ("<script>alert(1)</script>", 429),
        ("nul\x00byte", 200),  # the form refuses it: no password is tried, none counted
    ],
)
def test_it_answers_any_username_typed_without_an_error(client, db, path, username, fifth):
    answers = fail(client, username, 5, path=path)

    assert [a.status_code for a in answers] == [200] * 4 + [fifth]
    assert "<script>alert(1)" not in answers[4].content.decode()


# --- Unlocking --------------------------------------------------------------------------------


@pytest.fixture
def support(team):
    return UserFactory(username="support", team=team, role=roles.BUSINESS_SUPPORT)


def test_it_lists_lockouts_and_unlocks_one_from_the_page(client, worker, support):
    fail(client, "worker", 5)
    fail(client, "worker", 5, address=AWAY)
    client.force_login(support)

    page = client.get(LOCKOUTS).content.decode()
    assert page.count('name="username" value="worker"') == 2
    assert HOME in page and AWAY in page

    answer = client.post(
        f"{LOCKOUTS}unlock/", {"username": "worker", "ip_address": HOME}, follow=True
    )
    assert f"Unlocked sign-in for worker from {HOME}" in answer.content.decode()
    unlock = SignInUnlock.objects.get()
    assert (unlock.username, unlock.ip_address, unlock.failures, unlock.unlocked_by) == (
        "worker",
        HOME,
        5,
        support,
    )
    assert f"{support.get_full_name()} unlocked worker from {HOME}" in answer.content.decode()
    remaining = [(x.username, x.ip_address) for x in lockout.current_lockouts(now=timezone.now())]
    assert remaining == [("worker", AWAY)]

    client.post("/accounts/sign-out/")
    assert attempt(client, "worker", PASSWORD, address=HOME).status_code == 302


def test_it_says_when_there_is_nothing_left_to_unlock(client, worker, support):
    client.force_login(support)
    answer = client.post(
        f"{LOCKOUTS}unlock/", {"username": "worker", "ip_address": HOME}, follow=True
    )
    assert "This sign-in is not locked now" in answer.content.decode()
    assert not SignInUnlock.objects.exists()


def test_it_refuses_a_malformed_unlock_without_an_error(client, support):
    client.force_login(support)
    answer = client.post(f"{LOCKOUTS}unlock/", {"username": "x", "ip_address": "not-an-address"})
    assert answer.status_code == 302
    assert not SignInUnlock.objects.exists()


def test_it_refuses_the_lockouts_page_to_a_social_worker(client, worker):
    fail(client, "worker", 5)
    other = UserFactory(username="other", team=worker.team)
    client.force_login(other)

    assert client.get(LOCKOUTS).status_code == 403
    assert (
        client.post(f"{LOCKOUTS}unlock/", {"username": "worker", "ip_address": HOME}).status_code
        == 403
    )
    assert len(lockout.current_lockouts(now=timezone.now())) == 1
    assert "Sign-in lockouts" not in client.get("/accounts/notifications/").content.decode()


def test_it_links_the_lockouts_page_for_business_support(client, support):
    client.force_login(support)
    assert LOCKOUTS in client.get("/accounts/notifications/").content.decode()


@pytest.mark.parametrize(
    ("role", "superuser", "allowed"),
    [
        (roles.BUSINESS_SUPPORT, False, True),
        (roles.SYSTEM_ADMINISTRATOR, False, True),
        (None, True, True),
        (roles.SOCIAL_WORKER, False, False),
        (roles.TEAM_MANAGER, False, False),
        (roles.SERVICE_MANAGER, False, False),
        (roles.INFORMATION_GOVERNANCE, False, False),
    ],
)
def test_it_lets_only_support_and_administrators_unlock(client, worker, role, superuser, allowed):
    actor = UserFactory(username="actor", team=None, role=role, is_superuser=superuser)
    if superuser:
        actor.groups.clear()
    fail(client, "worker", 5)

    assert policy.can_unlock_sign_in(actor) is allowed
    if allowed:
        sign_in_unlock(actor=actor, username="worker", ip_address=HOME, now=timezone.now())
        assert SignInUnlock.objects.get().unlocked_by == actor
    else:
        with pytest.raises(PermissionDenied):
            sign_in_unlock(actor=actor, username="worker", ip_address=HOME, now=timezone.now())
        assert not SignInUnlock.objects.exists()


def test_it_refuses_an_inactive_administrator(client, worker):
    actor = UserFactory(username="gone", role=roles.SYSTEM_ADMINISTRATOR, is_active=False)
    fail(client, "worker", 5)
    with pytest.raises(PermissionDenied):
        sign_in_unlock(actor=actor, username="worker", ip_address=HOME, now=timezone.now())


def test_it_refuses_to_unlock_a_lockout_that_has_ended(client, worker, support):
    with time_machine.travel(T0, tick=False):
        fail(client, "worker", 5)
    later = T0 + datetime.timedelta(minutes=16)
    with pytest.raises(ValidationError):
        sign_in_unlock(actor=support, username="worker", ip_address=HOME, now=later)
    unlock = sign_in_unlock(
        actor=support, username="worker", ip_address=HOME, now=T0 + datetime.timedelta(minutes=1)
    )
    assert unlock.locked_until == T0 + datetime.timedelta(minutes=15)
    assert unlock.unlocked_at == T0 + datetime.timedelta(minutes=1)


def test_it_shows_axes_records_read_only_in_the_admin(client, worker, db):
    fail(client, "worker", 5)
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    attempt_row = AccessAttempt.objects.get()

    assert client.get("/admin/axes/accessattempt/").status_code == 200
    assert client.get("/admin/axes/accessfailurelog/").status_code == 200
    assert client.get("/admin/axes/accesslog/").status_code == 200
    assert client.get("/admin/accounts/signinunlock/").status_code == 200
    assert client.get(f"/admin/axes/accessattempt/{attempt_row.pk}/delete/").status_code == 403

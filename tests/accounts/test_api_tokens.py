"""Staff API tokens (django-rest-knox): made from a signed-in page and shown once, stored
as a digest, ended like a session (idle and absolute limits), by their owner or an
account administrator, and by a password change or a deactivation whatever path made it.
Real tokens over the Authorization header, real PostgreSQL."""

import datetime
import re

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import policy, roles, services
from accounts.models import ApiToken, User
from tests.factories import PASSWORD, UserFactory, api_token_for
from tests.second_factor import sign_in_with_code

T0 = datetime.datetime(2026, 12, 7, 9, 0, tzinfo=datetime.UTC)
TOKEN_IN_PAGE = re.compile(r'id="new-token" type="text" value="([0-9a-f]{64})"')


def call(token: str, url: str = "/api/v1/cases/"):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.get(url)


def make_token_on_page(client, name="Laptop script"):
    response = client.post("/accounts/api-tokens/", {"name": name})
    assert response.status_code == 200, response.content
    found = TOKEN_IN_PAGE.search(response.content.decode())
    assert found, "the new token is shown on the page"
    return found.group(1), response


def test_it_shows_a_new_token_once_and_the_token_works(signed_in, worker):
    token, response = make_token_on_page(signed_in)

    assert "Copy it now" in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert call(token).status_code == 200
    again = signed_in.get("/accounts/api-tokens/")
    assert again.status_code == 200
    assert token not in again.content.decode()
    assert "Laptop script" in again.content.decode()
    record = ApiToken.objects.get(user=worker)
    assert record.created_by == worker
    assert record.key_start == token[:8]


def test_it_asks_for_a_name(signed_in, worker):
    response = signed_in.post("/accounts/api-tokens/", {"name": "  "})

    assert response.status_code == 400
    assert "Enter a name for the token" in response.content.decode()
    assert not ApiToken.objects.filter(user=worker).exists()


def test_it_makes_a_token_only_from_a_signed_in_page(worker):
    token = api_token_for(worker)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = client.post("/accounts/api-tokens/", {"name": "from a token"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/sign-in/")
    assert ApiToken.objects.filter(user=worker).count() == 1


def test_it_keeps_no_usable_token_in_the_database(worker):
    token = api_token_for(worker)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT digest, token_key, expiry FROM knox_authtoken WHERE user_id = %s", [worker.pk]
        )
        rows = cursor.fetchall()
        cursor.execute("SELECT * FROM accounts_apitoken WHERE user_id = %s", [worker.pk])
        record_row = cursor.fetchone()
    assert len(rows) == 1
    digest, token_key, _ = rows[0]
    assert len(digest) == 128 and digest != token
    assert token not in " ".join(str(value) for value in (*rows[0], *record_row))
    for stolen in (digest, token_key, digest[:64]):
        response = call(stolen)
        assert response.status_code == 401, stolen
        assert response["WWW-Authenticate"] == "Token"
    assert call(token).status_code == 200


def test_it_moves_the_expiry_on_with_use_and_ends_it_after_the_idle_limit(worker, settings):
    settings.API_TOKEN_IDLE_SECONDS = 30 * 60  # the knox TTL in settings is the same
    with time_machine.travel(T0, tick=False) as clock:
        _, token = services.api_token_create(actor=worker, owner=worker, name="a", now=T0)
        for _ in range(4):  # used every 25 minutes: nearly two hours, still working
            clock.shift(datetime.timedelta(minutes=25))
            assert call(token).status_code == 200
        record = ApiToken.objects.get(user=worker)
        assert record.last_used_at == T0 + datetime.timedelta(minutes=100)

        clock.shift(datetime.timedelta(minutes=31))
        response = call(token)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_it_ends_a_token_at_the_absolute_limit_however_often_it_is_used(worker):
    with time_machine.travel(T0, tick=False) as clock:
        _, token = services.api_token_create(actor=worker, owner=worker, name="a", now=T0)
        used = 0
        while timezone.now() + datetime.timedelta(minutes=25) < T0 + datetime.timedelta(hours=12):
            clock.shift(datetime.timedelta(minutes=25))
            assert call(token).status_code == 200, timezone.now()
            used += 1
        clock.move_to(T0 + datetime.timedelta(hours=12, seconds=1))
        response = call(token)

    assert used >= 28
    assert response.status_code == 401


def test_it_checks_the_absolute_limit_itself_from_when_the_token_was_made(worker, settings):
    with time_machine.travel(T0, tick=False) as clock:
        _, token = services.api_token_create(actor=worker, owner=worker, name="a", now=T0)
        # A shorter limit set after the token was made (knox's own cap is still 12 h).
        settings.API_TOKEN_ABSOLUTE_SECONDS = 60 * 60
        for _ in range(2):
            clock.shift(datetime.timedelta(minutes=25))
            assert call(token).status_code == 200
        clock.shift(datetime.timedelta(minutes=11))  # 61 minutes in; 11 minutes idle
        assert call(token).status_code == 401


def test_it_lets_the_owner_revoke_a_token(signed_in, worker):
    token, _ = make_token_on_page(signed_in)
    record = ApiToken.objects.get(user=worker)

    response = signed_in.post(f"/accounts/api-tokens/{record.pk}/revoke/")

    assert response.status_code == 302
    assert call(token).status_code == 401
    record.refresh_from_db()
    assert record.revoked_by == worker
    assert record.revoke_reason == services.REVOKED_BY_OWNER
    assert record.auth_token_id is None  # the credential is gone; the record stays
    page = signed_in.get("/accounts/api-tokens/").content.decode()
    assert "Revoked" in page and "Laptop script" in page


def test_it_lets_an_account_administrator_see_and_revoke_anyones_token(client, worker, team):
    token = api_token_for(worker, name="Worker's script")
    record = ApiToken.objects.get(user=worker)
    admin = UserFactory(username="support", team=team, role=roles.BUSINESS_SUPPORT)
    client.force_login(admin)

    page = client.get(f"/accounts/users/{worker.pk}/api-tokens/")
    assert page.status_code == 200
    assert "Worker&#x27;s script" in page.content.decode()
    assert "Create a token" not in page.content.decode()
    response = client.post(f"/accounts/api-tokens/{record.pk}/revoke/")

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/users/{worker.pk}/api-tokens/"
    assert call(token).status_code == 401
    record.refresh_from_db()
    assert record.revoked_by == admin
    assert record.revoke_reason == services.REVOKED_BY_ADMINISTRATOR


def test_it_refuses_a_worker_anothers_tokens(client, worker, team):
    token = api_token_for(worker)
    record = ApiToken.objects.get(user=worker)
    colleague = UserFactory(username="colleague", team=team, role=roles.TEAM_MANAGER)
    client.force_login(colleague)

    assert client.get(f"/accounts/users/{worker.pk}/api-tokens/").status_code == 403
    assert client.post(f"/accounts/api-tokens/{record.pk}/revoke/").status_code == 403
    assert call(token).status_code == 200
    record.refresh_from_db()
    assert record.revoked_at is None


@pytest.mark.parametrize(
    ("role", "superuser", "allowed"),
    [
        (roles.SOCIAL_WORKER, False, False),
        (roles.TEAM_MANAGER, False, False),
        (roles.PRACTICE_SUPERVISOR, False, False),
        (roles.SERVICE_MANAGER, False, False),
        (roles.INFORMATION_GOVERNANCE, False, False),
        (roles.BUSINESS_SUPPORT, False, True),
        (roles.SYSTEM_ADMINISTRATOR, False, True),
        (roles.SOCIAL_WORKER, True, True),
    ],
)
def test_it_lets_only_account_administrators_manage_anothers_tokens(
    worker, team, role, superuser, allowed
):
    actor = UserFactory(username="actor", team=team, role=role, is_superuser=superuser)
    _, token = services.api_token_create(actor=worker, owner=worker, name="a", now=timezone.now())
    record = ApiToken.objects.get(user=worker)

    assert policy.can_manage_api_tokens(actor, worker) is allowed
    assert policy.can_manage_api_tokens(worker, worker) is True
    assert policy.can_create_api_token(actor, worker) is False  # only the owner makes one
    if allowed:
        services.api_token_revoke(actor=actor, token=record, now=timezone.now())
        assert call(token).status_code == 401
    else:
        with pytest.raises(services.PermissionDenied):
            services.api_token_revoke(actor=actor, token=record, now=timezone.now())
        assert call(token).status_code == 200


def test_an_inactive_administrator_cannot_revoke(worker, team):
    admin = UserFactory(username="support", team=team, role=roles.SYSTEM_ADMINISTRATOR)
    User.objects.filter(pk=admin.pk).update(is_active=False)
    admin.refresh_from_db()

    assert policy.can_manage_api_tokens(admin, worker) is False


@pytest.mark.parametrize("how", ["save", "update"])
def test_it_ends_every_token_when_the_password_changes(worker, how):
    first, second = api_token_for(worker, name="one"), api_token_for(worker, name="two")
    assert call(first).status_code == 200

    if how == "save":  # forms, the admin, changepassword: set_password then save
        worker.set_password("a-new-long-password-2026")
        worker.save()
    else:  # a path that skips save() and its signals
        User.objects.filter(pk=worker.pk).update(password="md5$x$0123")

    for token in (first, second):
        response = call(token)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
    if how == "save":
        reasons = set(ApiToken.objects.filter(user=worker).values_list("revoke_reason", flat=True))
        assert reasons == {services.REVOKED_PASSWORD_CHANGED}


def test_a_token_made_after_the_password_changed_works(worker):
    worker.set_password("a-new-long-password-2026")
    worker.save()

    assert call(api_token_for(worker)).status_code == 200


@pytest.mark.parametrize("how", ["save", "update"])
def test_it_ends_every_token_when_the_account_is_deactivated(worker, how):
    token = api_token_for(worker)

    if how == "save":
        worker.is_active = False
        worker.save()
    else:
        User.objects.filter(pk=worker.pk).update(is_active=False)

    assert call(token).status_code == 401
    if how == "save":
        record = ApiToken.objects.get(user=worker)
        assert record.revoke_reason == services.REVOKED_DEACTIVATED
        assert record.revoked_by is None


def test_signing_in_does_not_end_tokens(client, worker):
    token = api_token_for(worker)

    assert sign_in_with_code(client, worker.username, PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(worker.pk)

    assert call(token).status_code == 200

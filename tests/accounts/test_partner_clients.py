"""Partner systems on OAuth2 client credentials: registered by a command that prints the
secret once (stored hashed); /oauth/token/ gives a short-lived token to an active client
only; the partner endpoint needs its scope, shows the granted teams' open and overdue
escalations and nothing else; the token opens no other endpoint; every call is logged."""

import base64
import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, set_token_value
from rest_framework.test import APIClient

from accounts import roles, services
from accounts.models import PartnerCall, PartnerClient
from cases.models import Escalation
from tests.factories import CaseFactory, EscalationFactory, TeamFactory, UserFactory, api_token_for

URL = "/api/v1/partner/escalations/"


@pytest.fixture
def sysadmin(db):
    return UserFactory(username="sysadmin", team=None, role=roles.SYSTEM_ADMINISTRATOR)


@pytest.fixture
def south(db):
    return TeamFactory(name="South Assessment", code="south")


def register(*, teams=("north",), scopes=("escalations:read",), by="sysadmin"):
    out = io.StringIO()
    call_command(
        "partner_client_create",
        "--name",
        "Northshire Police",
        "--teams",
        *teams,
        "--scopes",
        *scopes,
        "--by",
        by,
        stdout=out,
    )
    lines = dict(
        line.split(": ", 1) for line in out.getvalue().splitlines() if line.startswith("client_")
    )
    return lines["client_id"], lines["client_secret"]


def get_token(client_id, secret, **extra):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return APIClient().post(
        "/oauth/token/",
        {"grant_type": "client_credentials", **extra},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )


def bearer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_it_prints_the_secret_once_and_stores_it_hashed(team, sysadmin):
    client_id, secret = register()

    application = Application.objects.get(client_id=client_id)
    assert application.client_secret != secret
    assert application.client_secret.startswith("pbkdf2_") or "$" in application.client_secret
    assert application.authorization_grant_type == Application.GRANT_CLIENT_CREDENTIALS
    assert application.client_type == Application.CLIENT_CONFIDENTIAL
    partner = PartnerClient.objects.get(application=application)
    assert list(partner.teams.values_list("code", flat=True)) == ["north"]
    assert partner.history.first().history_user == sysadmin


def test_it_lets_only_a_system_administrator_register_a_client(team, worker):
    with pytest.raises(CommandError):
        register(by=worker.username)
    assert not PartnerClient.objects.exists()


def test_it_refuses_an_unknown_scope(team, sysadmin):
    with pytest.raises(CommandError, match="Unknown scope"):
        register(scopes=("cases:write",))


def test_it_gives_granted_teams_open_escalations_end_to_end(team, south, sysadmin):
    north_case = CaseFactory(team=team, family_name="Ashworth")
    shown = EscalationFactory(case=north_case, state=Escalation.State.OPEN)
    overdue = EscalationFactory(
        case=north_case, kind="non_compliance", state=Escalation.State.OVERDUE
    )
    EscalationFactory(
        case=CaseFactory(team=team),
        state=Escalation.State.CANCELLED,
        cancelled_reason="raised twice",
    )
    EscalationFactory(case=CaseFactory(team=team, restricted=True), state="open")
    EscalationFactory(case=CaseFactory(team=south, family_name="Brennan"), state="open")
    client_id, secret = register()

    answer = get_token(client_id, secret)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "escalations:read"
    assert body["expires_in"] == 3600
    assert "refresh_token" not in body

    response = bearer(body["access_token"]).get(URL, REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    rows = response.json()["results"]
    assert {row["id"] for row in rows} == {shown.pk, overdue.pk}
    assert set(rows[0]) == {
        "id",
        "case_reference",
        "kind",
        "required_meeting",
        "fired_on",
        "due_by",
        "state",
    }
    assert rows[0]["case_reference"] == north_case.reference
    text = response.content.decode()
    assert "Ashworth" not in text and "Brennan" not in text and "visits defaulted" not in text
    call = PartnerCall.objects.get()
    assert (call.client.application.client_id, call.method, call.path, call.status) == (
        client_id,
        "GET",
        URL,
        200,
    )
    assert call.ip_address == "203.0.113.9"


def test_it_refuses_a_wrong_secret_and_other_grants(team, sysadmin, worker):
    client_id, secret = register()

    assert get_token(client_id, secret + "x").status_code == 401
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    other = APIClient().post(
        "/oauth/token/",
        {"grant_type": "password", "username": worker.username, "password": "x"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert other.status_code in (400, 401)
    assert "access_token" not in other.json()


def test_it_refuses_the_partner_endpoint_without_the_scope(team, sysadmin):
    EscalationFactory(case=CaseFactory(team=team), state="open")
    client_id, _ = register()
    application = Application.objects.get(client_id=client_id)
    token = AccessToken(
        application=application,
        scope="",
        expires=timezone.now() + datetime.timedelta(hours=1),
    )
    set_token_value(token, "no-scope-token-0123456789")
    token.save()

    response = bearer("no-scope-token-0123456789").get(URL)

    assert response.status_code == 403
    assert "results" not in response.json()
    assert PartnerCall.objects.get().status == 403


def test_it_refuses_everything_else_to_a_partner_token(team, sysadmin):
    case = CaseFactory(team=team, family_name="Ashworth")
    EscalationFactory(case=case, state="open")
    client_id, secret = register()
    access = get_token(client_id, secret).json()["access_token"]

    for url in (
        "/api/v1/cases/",
        f"/api/v1/cases/{case.pk}/",
        "/api/v1/visits/",
        "/api/v1/people/",
        "/api/v1/supervision/sessions/",
        "/api/v1/schema/",
    ):
        for header in (f"Bearer {access}", f"Token {access}"):
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=header)
            response = client.get(url)
            assert response.status_code == 401, (url, header, response.status_code)
            assert "Ashworth" not in response.content.decode()
    write = bearer(access).post("/api/v1/cases/", {"family_name": "X"}, format="json")
    assert write.status_code == 401


def test_it_refuses_a_staff_token_on_the_partner_endpoint(team, worker):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(worker)}")

    response = client.get(URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    session = APIClient()
    session.force_login(worker)
    assert session.get(URL).status_code == 401


def test_it_refuses_a_deactivated_client_and_ends_its_tokens(team, sysadmin):
    client_id, secret = register()
    access = get_token(client_id, secret).json()["access_token"]
    assert bearer(access).get(URL).status_code == 200
    partner = PartnerClient.objects.get(application__client_id=client_id)

    call_command("partner_client_deactivate", "--client-id", client_id, "--by", "sysadmin")

    assert bearer(access).get(URL).status_code == 401
    again = get_token(client_id, secret)
    assert again.status_code in (400, 401)
    assert "access_token" not in again.json()
    partner.refresh_from_db()
    assert (partner.active, partner.deactivated_by) == (False, sysadmin)
    latest = partner.history.first()
    assert (latest.active, latest.history_user) == (False, sysadmin)


def test_it_refuses_an_inactive_client_even_with_a_token_still_stored(team, sysadmin):
    client_id, secret = register()
    access = get_token(client_id, secret).json()["access_token"]
    # Marked inactive by a path that did not end its tokens: the endpoint still refuses.
    PartnerClient.objects.filter(application__client_id=client_id).update(active=False)

    response = bearer(access).get(URL)

    assert response.status_code == 403
    assert "results" not in response.json()


def test_it_refuses_an_expired_partner_token(team, sysadmin):
    client_id, secret = register()
    access = get_token(client_id, secret).json()["access_token"]
    AccessToken.objects.filter(token_checksum__isnull=False).update(
        expires=timezone.now() - datetime.timedelta(seconds=1)
    )

    assert bearer(access).get(URL).status_code == 401


def test_services_refuse_a_worker(team, worker):
    with pytest.raises(services.PermissionDenied):
        services.partner_client_create(
            actor=worker, name="X", teams=[team], scopes=["escalations:read"], now=timezone.now()
        )


def test_it_keeps_no_usable_partner_token_in_the_database(team, sysadmin):
    client_id, secret = register()
    access = get_token(client_id, secret).json()["access_token"]

    stored = AccessToken.objects.get()
    assert stored.token == ""
    assert stored.token_checksum != access
    assert bearer(stored.token_checksum).get(URL).status_code == 401
    assert Application.objects.get().client_secret != secret


def test_it_refuses_a_partner_token_in_the_query_string(team, sysadmin):
    client_id, secret = register()
    access = get_token(client_id, secret).json()["access_token"]

    assert APIClient().get(URL, {"access_token": access}).status_code == 401

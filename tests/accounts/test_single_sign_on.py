"""Single sign-on without a provider: what the browser journeys against a real one
(tests/browser/test_sso_journey.py) cannot reach: a callback with a state this browser
never started, the ID token's issuer and audience, passwords switched off, signing out,
and linking identities."""

import datetime
import socket
import time
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.exceptions import PermissionDenied, SuspiciousOperation, ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts import oidc, policy, roles, services
from accounts.models import ExternalIdentity
from tests.factories import UserFactory

ISSUER = "https://login.example.test/tenant-0001/v2.0"
CLIENT_ID = "client-0001"
BACKEND = oidc.BACKEND_PATH
NOW = timezone.make_aware(datetime.datetime(2026, 12, 7, 10, 0))


@pytest.fixture
def sso(settings, db):
    """Single sign-on on, every endpoint given (nothing is fetched from anywhere)."""
    settings.OIDC_ENABLED = True
    settings.OIDC_OP_ISSUER = ISSUER
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = "a-client-secret-of-more-than-32-bytes-0001"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://login.example.test/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://login.example.test/token"
    settings.OIDC_OP_USER_ENDPOINT = "https://login.example.test/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = "https://login.example.test/keys"
    settings.OIDC_OP_LOGOUT_ENDPOINT = "https://login.example.test/logout"
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", BACKEND]
    return settings


@pytest.fixture
def passwords_off(sso):
    sso.PASSWORD_SIGN_IN_ENABLED = False
    sso.AUTHENTICATION_BACKENDS = [BACKEND]
    return sso


# --- The sign-in page and passwords ---------------------------------------------------------


def test_it_shows_the_provider_above_the_password_form_when_both_are_on(client, sso):
    html = client.get("/accounts/sign-in/").content.decode()
    assert "Sign in with Microsoft" in html
    assert html.index("Sign in with Microsoft") < html.index('name="password"')


def test_it_shows_only_the_password_form_when_single_sign_on_is_off(client, db):
    html = client.get("/accounts/sign-in/").content.decode()
    assert "Sign in with" not in html
    assert 'name="password"' in html
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=a&state=b").status_code == 404


def test_it_refuses_a_correct_password_when_password_sign_in_is_off(
    client, worker, password, passwords_off
):
    page = client.get("/accounts/sign-in/").content.decode()
    assert 'name="password"' not in page
    assert "Sign in with Microsoft" in page

    response = client.post("/accounts/sign-in/", {"username": "worker", "password": password})

    assert response.status_code == 403
    assert "Signing in with a password is switched off" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_refuses_the_admin_sites_password_when_password_sign_in_is_off(
    client, password, passwords_off
):
    UserFactory(username="root", is_superuser=True, is_staff=True)
    client.post("/admin/login/", {"username": "root", "password": password})
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_it_still_takes_a_password_when_both_are_on(client, worker, password, sso):
    response = client.post("/accounts/sign-in/", {"username": "worker", "password": password})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(worker.pk)


def test_it_keeps_force_login_working_with_only_the_provider_backend(client, worker, passwords_off):
    client.force_login(worker)
    assert client.get("/dashboards/mine/").status_code == 200


def test_it_ends_the_session_of_a_user_switched_off_after_signing_in_by_the_provider(
    client, worker, sso
):
    client.force_login(worker, backend=BACKEND)
    worker.is_active = False
    worker.save()
    assert client.get("/dashboards/mine/").status_code == 302


# --- The callback ---------------------------------------------------------------------------


def test_it_sends_state_nonce_and_pkce_to_the_provider(client, sso):
    response = client.get("/oidc/authenticate/?next=/cases/")
    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://login.example.test/authorize"
    query = parse_qs(url.query)
    assert query["scope"] == ["openid email profile"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32
    assert query["redirect_uri"] == ["http://testserver/oidc/callback/"]


def test_it_refuses_a_callback_whose_state_this_browser_did_not_start(client, sso, caplog):
    client.get("/oidc/authenticate/")  # a real sign-in started, with its own state

    response = client.get("/oidc/callback/?code=stolen-code&state=not-the-state-sent")

    assert response.status_code == 400
    assert "You could not be signed in" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert any("state" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


def test_it_refuses_an_answer_that_names_another_issuer(client, sso):
    """RFC 9207: the provider names itself in its answer; another provider's answer,
    carrying the state this browser started, is refused and the state is not spent."""
    started = client.get("/oidc/authenticate/")
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    response = client.get(
        "/oidc/callback/",
        {"code": "c", "state": state, "iss": "https://attacker.example.test"},
    )
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    assert state in client.session["oidc_states"]


def test_it_refuses_a_callback_when_no_sign_in_was_started(client, sso):
    response = client.get("/oidc/callback/?code=stolen-code&state=any")
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_it_refuses_a_callback_the_provider_reports_as_failed(client, sso):
    client.get("/oidc/authenticate/")
    response = client.get("/oidc/callback/?error=access_denied")
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


# --- The ID token ---------------------------------------------------------------------------


@pytest.fixture
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def id_token(key, **changes):
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "sub": "sub-0001",
        "iat": now,
        "exp": now + 300,
        "nonce": "n-0001",
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def verify(token, key):
    backend = oidc.ProviderBackend()
    backend._configure()
    return backend._verify_jws(token, key.public_key())


def test_it_accepts_an_id_token_from_the_issuer_for_this_client(sso, signing_key):
    assert verify(id_token(signing_key), signing_key)["sub"] == "sub-0001"


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://login.example.test/another-tenant/v2.0"},
        {"iss": None},
        {"aud": "another-client"},
        {"aud": None},
        {"aud": [CLIENT_ID, "another-client"]},  # several audiences, no azp naming us
        {"exp": int(time.time()) - 3600},
        {"sub": None},
    ],
)
def test_it_refuses_an_id_token_not_from_the_issuer_or_not_for_this_client(
    sso, signing_key, changes
):
    with pytest.raises(SuspiciousOperation):
        verify(id_token(signing_key, **changes), signing_key)


def test_it_refuses_an_id_token_signed_by_another_key(sso, signing_key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(SuspiciousOperation):
        verify(id_token(other), signing_key)


def test_it_refuses_an_id_token_signed_with_the_client_secret(sso, signing_key):
    token = jwt.encode(
        {"iss": ISSUER, "aud": CLIENT_ID, "sub": "s", "iat": 1, "exp": 2**31},
        sso.OIDC_RP_CLIENT_SECRET,
        algorithm="HS256",
    )
    with pytest.raises(SuspiciousOperation):
        verify(token, signing_key)


def test_it_never_authenticates_a_username_and_password(rf, worker, password, sso):
    request = rf.post("/accounts/sign-in/?code=c&state=s")
    assert (
        oidc.ProviderBackend().authenticate(request, username="worker", password=password) is None
    )


# --- Signing out ----------------------------------------------------------------------------


def test_it_ends_a_provider_session_here_first_then_at_the_provider(client, worker, sso):
    client.force_login(worker, backend=BACKEND)
    session = client.session
    session[oidc.ID_TOKEN_SESSION_KEY] = "the.id.token"
    session.save()

    response = client.post("/accounts/sign-out/")

    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://login.example.test/logout"
    query = parse_qs(url.query)
    assert query["id_token_hint"] == ["the.id.token"]
    assert query["post_logout_redirect_uri"] == ["http://testserver/accounts/sign-in/"]
    assert "_auth_user_id" not in client.session
    assert client.get("/dashboards/mine/").status_code == 302


def test_it_ends_a_password_session_here_only(client, worker, sso):
    client.force_login(worker, backend="django.contrib.auth.backends.ModelBackend")
    response = client.post("/accounts/sign-out/")
    assert response["Location"] == "/accounts/sign-in/"
    assert "_auth_user_id" not in client.session


# --- Linking identities -----------------------------------------------------------------


@pytest.mark.parametrize(
    "role, superuser, allowed",
    [
        (roles.BUSINESS_SUPPORT, False, True),
        (roles.SYSTEM_ADMINISTRATOR, False, True),
        (roles.SOCIAL_WORKER, True, True),
        (roles.SOCIAL_WORKER, False, False),
        (roles.TEAM_MANAGER, False, False),
        (roles.SERVICE_MANAGER, False, False),
        (roles.INFORMATION_GOVERNANCE, False, False),
    ],
)
def test_it_lets_only_business_support_and_administrators_link_identities(
    worker, role, superuser, allowed
):
    actor = UserFactory(username="actor", role=role, is_superuser=superuser)
    assert policy.can_link_external_identity(actor, worker) is allowed
    if allowed:
        services.external_identity_link(
            actor=actor, user=worker, issuer=ISSUER, subject="sub-w", now=NOW
        )
        identity = ExternalIdentity.objects.get(user=worker)
        assert identity.created_by == actor
        assert identity.history.get().history_user == actor
    else:
        with pytest.raises(PermissionDenied):
            services.external_identity_link(
                actor=actor, user=worker, issuer=ISSUER, subject="sub-w", now=NOW
            )
        assert not ExternalIdentity.objects.exists()


def test_it_lets_nobody_but_a_superuser_link_their_own_account(db):
    support = UserFactory(username="support", role=roles.BUSINESS_SUPPORT)
    assert not policy.can_link_external_identity(support, support)
    inactive = UserFactory(username="gone", role=roles.BUSINESS_SUPPORT, is_active=False)
    assert not policy.can_link_external_identity(inactive, UserFactory(username="other"))


def test_it_links_a_subject_to_one_user_only(worker):
    other = UserFactory(username="other")
    services.external_identity_link(actor=None, user=worker, issuer=ISSUER, subject="s1", now=NOW)
    # Again: nothing changes.
    services.external_identity_link(actor=None, user=worker, issuer=ISSUER, subject="s1", now=NOW)
    assert ExternalIdentity.objects.count() == 1
    with pytest.raises(ValidationError, match="already signs in as worker"):
        services.external_identity_link(
            actor=None, user=other, issuer=ISSUER, subject="s1", now=NOW
        )
    with pytest.raises(ValidationError, match="already linked"):
        services.external_identity_link(
            actor=None, user=worker, issuer=ISSUER, subject="s2", now=NOW
        )
    # The same subject at another provider is another person.
    services.external_identity_link(
        actor=None, user=other, issuer="https://other.example.test", subject="s1", now=NOW
    )


def test_it_ends_a_link_and_keeps_it(worker):
    admin = UserFactory(username="omar", role=roles.SYSTEM_ADMINISTRATOR)
    identity = services.external_identity_link(
        actor=admin, user=worker, issuer=ISSUER, subject="s1", now=NOW
    )
    services.external_identity_end(actor=admin, identity=identity, now=NOW)
    identity.refresh_from_db()
    assert identity.ended_at == NOW and identity.ended_by == admin
    other = UserFactory(username="other")
    services.external_identity_link(actor=admin, user=other, issuer=ISSUER, subject="s1", now=NOW)
    assert ExternalIdentity.objects.filter(subject="s1").count() == 2


def test_its_command_links_and_ends_a_link(worker, sso):
    call_command("identity_link", "worker", "--subject", "00000000-aaaa-bbbb-cccc-000000000001")
    identity = ExternalIdentity.objects.get(user=worker)
    assert (identity.issuer, identity.ended_at) == (ISSUER, None)
    with pytest.raises(CommandError, match="No user"):
        call_command("identity_link", "nobody", "--subject", "x")
    call_command(
        "identity_link", "worker", "--subject", "00000000-aaaa-bbbb-cccc-000000000001", "--end"
    )
    identity.refresh_from_db()
    assert identity.ended_at is not None


def test_it_signs_in_with_a_password_while_the_provider_cannot_be_reached(
    client, worker, password, sso
):
    """Only the issuer given (the endpoints to be discovered) and nothing listening
    there: the sign-in page and a password sign-in never ask the provider anything."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    sso.OIDC_OP_ISSUER = f"http://127.0.0.1:{closed}"
    for name in oidc.DISCOVERED:
        setattr(sso, name, "")
    assert client.get("/accounts/sign-in/").status_code == 200
    response = client.post("/accounts/sign-in/", {"username": "worker", "password": password})
    assert response.status_code == 302
    assert client.get("/dashboards/mine/").status_code == 200
    # "Sign in with ..." says it is not working rather than failing.
    client.post("/accounts/sign-out/")
    answer = client.get("/oidc/authenticate/")
    assert answer.status_code == 503
    assert "is not working" in answer.content.decode()


@pytest.mark.parametrize("idle, absolute", [(31, False), (None, True)])
def test_it_holds_a_single_sign_on_session_to_the_same_limits(client, worker, sso, idle, absolute):
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as clock:
        client.force_login(worker, backend=BACKEND)
        assert client.get("/dashboards/mine/").status_code == 200
        if absolute:  # busy all day: a request every 20 minutes for 12 hours and more
            for _ in range(12 * 3):
                clock.shift(datetime.timedelta(minutes=20))
                client.get("/session/extend")
            clock.shift(datetime.timedelta(minutes=20))
        else:
            clock.shift(datetime.timedelta(minutes=idle))
        response = client.get("/dashboards/mine/")
    assert response.status_code == 302
    assert "timeout=1" in response["Location"]
    assert "_auth_user_id" not in client.session

"""Single sign-on through OpenID Connect (mozilla-django-oidc), docs/DECISIONS.md.

The library does the authorization code flow: state, nonce and PKCE kept in the
session, the code exchanged at the token endpoint, the ID token's signature checked
against the provider's keys. What it leaves out is done here:

- the ID token's `iss` must be the configured issuer and its `aud` the client id (the
  library turns audience checking off and never looks at the issuer), with `exp`,
  `iat` and `sub` required;
- the userinfo answer must be about the same `sub` as the ID token;
- the user is found by (issuer, subject) through ExternalIdentity only, never by a
  name or email address; nobody unknown is created, nobody inactive signed in;
- the endpoints may come from the issuer's discovery document, read at first use and
  kept for the life of the process (never at import, never for a password sign-in).
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from . import services
from .models import ExternalIdentity

logger = logging.getLogger(__name__)

BACKEND_PATH = "accounts.oidc.ProviderBackend"
ID_TOKEN_SESSION_KEY = "oidc_id_token"  # mozilla-django-oidc's name (OIDC_STORE_ID_TOKEN)

# The endpoint settings and their names in a discovery document.
DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_LOGOUT_ENDPOINT": "end_session_endpoint",
}
_documents: dict[str, dict[str, Any]] = {}
_lock = threading.Lock()


class ProviderUnavailable(Exception):
    """The identity provider's discovery document could not be read or was wrong."""


def discovery_document(issuer: str, *, refresh: bool = False) -> dict[str, Any]:
    """The issuer's `/.well-known/openid-configuration`, read once per process. Its
    `issuer` must be the configured one exactly (OpenID Connect Discovery 1.0, 4.3)."""
    with _lock:
        if not refresh and issuer in _documents:
            return _documents[issuer]
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            response = requests.get(
                url,
                timeout=settings.OIDC_TIMEOUT,
                verify=settings.OIDC_VERIFY_SSL,
                proxies=getattr(settings, "OIDC_PROXY", None),
            )
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise ProviderUnavailable(f"Could not read {url}: {exc}") from exc
        if not isinstance(document, dict) or document.get("issuer") != issuer:
            raise ProviderUnavailable(
                f"{url} names issuer {document.get('issuer')!r}, not {issuer!r}"
                if isinstance(document, dict)
                else f"{url} is not a discovery document"
            )
        _documents[issuer] = document
        return document


def setting(name: str, *default: Any) -> Any:
    """A mozilla-django-oidc setting. An endpoint not set one by one comes from the
    issuer's discovery document (an empty string when the provider has none)."""
    if name in DISCOVERED:
        value = getattr(settings, name, "")
        if value or not settings.OIDC_OP_ISSUER:
            return value
        return discovery_document(settings.OIDC_OP_ISSUER).get(DISCOVERED[name], "") or ""
    return import_from_settings(name, *default)


def _refuse(request: HttpRequest, reason: str, *, status: int) -> HttpResponse:
    """The page a refused single sign-on shows: why in plain words, nothing personal."""
    return render(
        request,
        "accounts/sso_refused.html",
        {"reason": reason, "provider_name": settings.OIDC_PROVIDER_NAME},
        status=status,
    )


class ProviderBackend(OIDCAuthenticationBackend):
    """Signs in, from the single sign-on callback only, the user linked to the subject
    the identity provider vouches for."""

    get_settings = staticmethod(setting)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Django builds every backend for every sign-in (passwords too) and for every
        # request of a signed-in session: nothing is read from the provider here.
        self.UserModel = get_user_model()

    def _configure(self) -> None:
        self.OIDC_OP_TOKEN_ENDPOINT = setting("OIDC_OP_TOKEN_ENDPOINT")
        self.OIDC_OP_USER_ENDPOINT = setting("OIDC_OP_USER_ENDPOINT")
        self.OIDC_OP_JWKS_ENDPOINT = setting("OIDC_OP_JWKS_ENDPOINT") or None
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        if not self.OIDC_OP_TOKEN_ENDPOINT or not self.OIDC_OP_JWKS_ENDPOINT:
            raise ImproperlyConfigured("Single sign-on needs the token and JWKS endpoints")

    def authenticate(self, request, **kwargs):  # type: ignore[override]
        # Only the callback view calls with a nonce and code verifier (None or not); a
        # username and password are never this backend's business.
        if (
            not settings.OIDC_ENABLED
            or request is None
            or "nonce" not in kwargs
            or "code_verifier" not in kwargs
            or "username" in kwargs
            or "password" in kwargs
        ):
            return None
        self._configure()
        return super().authenticate(request, **kwargs)

    def _verify_jws(self, payload: Any, key: Any) -> dict[str, Any]:
        """The signature, by the one configured algorithm, and the claims the library
        does not check: issuer, audience (and authorized party), expiry."""
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(f"ID token signed with {header.get('alg')!r}")
        try:
            claims = jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_OP_ISSUER,
                leeway=settings.OIDC_CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from exc
        audience = claims["aud"]
        if isinstance(audience, list) and len(audience) > 1:
            if claims.get("azp") != self.OIDC_RP_CLIENT_ID:
                raise SuspiciousOperation("ID token for several audiences, not authorized to us")
        return claims

    def get_or_create_user(self, access_token, id_token, payload):
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT:
            userinfo = self.get_userinfo(access_token, id_token, payload)
            if userinfo.get("sub") != payload.get("sub"):
                raise SuspiciousOperation("The userinfo answer is about someone else")
            claims = {**userinfo, **payload}  # what the signed ID token says wins
        issuer = payload["iss"]
        subject = claims.get(settings.OIDC_USER_CLAIM)
        if not isinstance(subject, str) or not subject:
            logger.warning(
                "Single sign-on refused: the %s ID token has no %r claim",
                issuer,
                settings.OIDC_USER_CLAIM,
            )
            self.request.sso_refusal = "not_set_up"
            return None
        identity = (
            ExternalIdentity.objects.select_related("user")
            .filter(issuer=issuer, subject=subject, ended_at__isnull=True)
            .first()
        )
        if identity is None:
            logger.warning(
                "Single sign-on refused: no user is linked to subject %r of %s", subject, issuer
            )
            self.request.sso_refusal = "not_set_up"
            return None
        user = identity.user
        if not user.is_active:
            logger.warning(
                "Single sign-on refused: subject %r of %s is linked to inactive user %s",
                subject,
                issuer,
                user.pk,
            )
            self.request.sso_refusal = "inactive"
            return None
        services.external_identity_record_sign_in(identity=identity, now=timezone.now())
        return user

    def get_user(self, user_id):
        # The library's get_user signs in inactive users too; Django's refuses them.
        return ModelBackend.get_user(self, user_id)

    def create_user(self, claims):  # never called: nobody unknown is let in
        raise SuspiciousOperation("Users are not created by single sign-on")


class SignInStartView(OIDCAuthenticationRequestView):
    """ "Sign in with ...": off to the provider, with state, nonce and PKCE."""

    get_settings = staticmethod(setting)

    def __init__(self, **kwargs: Any) -> None:
        View.__init__(self, **kwargs)  # the endpoints are read when asked, not here

    def get(self, request):
        if not settings.OIDC_ENABLED:
            raise Http404
        try:
            self.OIDC_OP_AUTH_ENDPOINT = setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except ProviderUnavailable as exc:
            logger.error("Single sign-on unavailable: %s", exc)
            return _refuse(request, "unavailable", status=503)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back (the redirect URI, /oidc/callback/)."""

    get_settings = staticmethod(setting)

    def get(self, request):
        if not settings.OIDC_ENABLED:
            raise Http404
        answered_by = request.GET.get("iss")
        if answered_by is not None and answered_by != settings.OIDC_OP_ISSUER:
            # RFC 9207: the answer names the provider that gave it; another one's answer,
            # sent here to mix the two up, is refused before its code goes anywhere.
            logger.warning("Single sign-on refused: an answer from issuer %r", answered_by)
            return _refuse(request, "failed", status=400)
        try:
            return super().get(request)
        except SuspiciousOperation as exc:
            # A state this browser did not start, a nonce, issuer, audience or
            # signature that does not match: logged without any token.
            logger.warning("Single sign-on refused: %s", exc)
            return _refuse(request, "failed", status=400)
        except (requests.RequestException, ProviderUnavailable, ValueError) as exc:
            logger.error("Single sign-on failed talking to the provider: %s", exc)
            return _refuse(request, "unavailable", status=502)

    def login_failure(self):
        reason = getattr(self.request, "sso_refusal", "failed")
        return _refuse(self.request, reason, status=403 if reason != "failed" else 400)


def end_session_url(request: HttpRequest, *, backend: str | None, id_token: str | None) -> str:
    """Where to send a browser whose single sign-on session has just ended here: the
    provider's end-session endpoint, told which session (`id_token_hint`) and where to
    come back. Empty when the session was not a single sign-on one or there is none."""
    if not settings.OIDC_ENABLED or backend != BACKEND_PATH or not id_token:
        return ""
    try:
        endpoint = setting("OIDC_OP_LOGOUT_ENDPOINT")
    except ProviderUnavailable as exc:
        logger.error("Single sign-on: no end-session endpoint: %s", exc)
        return ""
    if not endpoint:
        return ""
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": request.build_absolute_uri(reverse("accounts:login")),
            "client_id": settings.OIDC_RP_CLIENT_ID,
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def session_backend(request: HttpRequest) -> str | None:
    return request.session.get(BACKEND_SESSION_KEY)

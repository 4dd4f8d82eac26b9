"""The second factor at sign-in: the half-signed-in state and its enforcement.

A password sign-in does not sign the session in. The password step
(views.SignInView) records who gave the right password in the session, under a new
session key, for SECOND_FACTOR_PENDING_SECONDS; only when that person gives a code
from their authenticator app (or a recovery code), or sets an app up the first time,
does the session become signed in (Django's `login`) and verified (django-otp's
`login`). Until then the session is anonymous: every page, /admin/ and the API see
nobody.

SecondFactorRequiredMiddleware is the second wall: a session that is signed in some
other way without a second factor (the Django admin's own sign-in form, a future
view that calls `login`, a second factor reset while signed in) reaches only the
second-factor pages, sign-out, static files and /healthz, unless its backend is in
SECOND_FACTOR_EXEMPT_BACKENDS (an identity provider that asked for its own second
factor).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth import login as auth_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

if TYPE_CHECKING:
    from django_otp.models import Device

    from .models import User

# {"user_id", "backend", "started", "next"}: who gave the right password, and when.
PENDING_SESSION_KEY = "second_factor_pending"
# The secret of the authenticator app being set up (hex), until its first code.
NEW_KEY_SESSION_KEY = "second_factor_new_key"


def has_authenticator(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def needs_second_factor(request: HttpRequest) -> bool:
    """Signed in by password (or any backend not exempt) and not verified."""
    user = request.user
    if not user.is_authenticated:
        return False
    if request.session.get(BACKEND_SESSION_KEY) in settings.SECOND_FACTOR_EXEMPT_BACKENDS:
        return False
    is_verified = getattr(user, "is_verified", None)
    return not (is_verified is not None and is_verified())


def safe_next(request: HttpRequest, url: str | None) -> str:
    """`url` if it is on this site (as Django's LoginView decides), else the home page."""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse(settings.LOGIN_REDIRECT_URL)


def step_url(user: User, next_url: str | None = None) -> str:
    name = (
        "accounts:second_factor_verify"
        if has_authenticator(user)
        else "accounts:second_factor_enrol"
    )
    url = reverse(name)
    if next_url:
        url += "?" + urlencode({"next": next_url})
    return url


def begin(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    """After the right password: remember who, for a short while, under a new session
    key, and send them to the code (or to set up an app)."""
    if getattr(user, "backend", None) in settings.SECOND_FACTOR_EXEMPT_BACKENDS:
        auth_login(request, user)
        return redirect(next_url)
    request.session.cycle_key()
    request.session.pop(NEW_KEY_SESSION_KEY, None)
    request.session[PENDING_SESSION_KEY] = {
        "user_id": user.pk,
        "backend": user.backend,
        "started": time.time(),
        "next": next_url,
    }
    return redirect(step_url(user))


def pending(request: HttpRequest) -> dict | None:
    """The half-finished sign-in in this session, if it has not run out."""
    data = request.session.get(PENDING_SESSION_KEY)
    if not isinstance(data, dict):
        return None
    if time.time() - data.get("started", 0) > settings.SECOND_FACTOR_PENDING_SECONDS:
        request.session.pop(PENDING_SESSION_KEY, None)
        request.session.pop(NEW_KEY_SESSION_KEY, None)
        return None
    return data


def subject(request: HttpRequest) -> tuple[User, str] | None:
    """Who is being asked for a second factor, and where they go after it: the person
    who gave the right password, or a signed-in session that has not given one."""
    from .models import User

    if request.user.is_authenticated:
        if not needs_second_factor(request):
            return None
        return request.user, safe_next(request, request.GET.get("next"))  # type: ignore[return-value]
    data = pending(request)
    if data is None:
        return None
    user = User.objects.filter(pk=data["user_id"], is_active=True).first()
    if user is None:
        return None
    return user, safe_next(request, data.get("next"))


def finish(request: HttpRequest, user: User, device: Device) -> None:
    """The second factor passed: sign the session in (with a new key) and verify it."""
    data = request.session.get(PENDING_SESSION_KEY) or {}
    if request.user.is_authenticated:
        request.session.cycle_key()
    else:
        auth_login(request, user, backend=data.get("backend"))
    otp_login(request, device)
    request.session.pop(PENDING_SESSION_KEY, None)
    request.session.pop(NEW_KEY_SESSION_KEY, None)


def secret_in_groups(key_hex: str) -> str:
    """The base32 secret as people type it: groups of four letters and digits."""
    from base64 import b32encode

    text = b32encode(bytes.fromhex(key_hex)).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def qr_code_data_uri(config_url: str) -> str:
    """The otpauth:// address as a QR code, an SVG data: URI (the CSP allows data:
    images; no script)."""
    import segno

    return segno.make(config_url, error="m").svg_data_uri(scale=5, border=4, dark="#0b0c0c")


def _allowed_paths() -> tuple[str, ...]:
    return (
        reverse("accounts:second_factor_verify"),
        reverse("accounts:second_factor_enrol"),
        reverse("accounts:logout"),
        settings.STATIC_URL,
        "/healthz",
        "/session/",
    )


class SecondFactorRequiredMiddleware:
    """A signed-in session without a second factor reaches only the second-factor
    pages, sign-out, static files and /healthz. Pages redirect to the code (or to
    setting up an app), htmx requests get HX-Redirect, the API answers 403."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._allowed: tuple[str, ...] | None = None

    def __call__(self, request):
        if needs_second_factor(request):
            if self._allowed is None:
                self._allowed = _allowed_paths()
            if not request.path.startswith(self._allowed):
                return self._refuse(request)
        return self.get_response(request)

    def _refuse(self, request):
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": "Give the code from your authenticator app before using the API."},
                status=403,
            )
        target = step_url(
            request.user, request.get_full_path() if request.method == "GET" else None
        )
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)

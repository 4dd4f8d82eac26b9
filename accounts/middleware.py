"""Session limits (DESIGN.md section 6), no-store caching for signed-in pages, a temporary
password's forced change, and the API's guard against repeated failed authentication."""

import logging
import math
import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

log = logging.getLogger(__name__)

SESSION_STARTED = "session_started_at"
SESSION_LAST_ACTIVE = "session_last_active_at"
# Requests that ask about the session without counting as activity.
PASSIVE_PATHS = ("/session/status",)


class SessionLimitsMiddleware:
    """End a session after 30 minutes idle or 12 hours in all.

    Both limits are checked on the server from timestamps kept in the session, so a
    stolen cookie is no good past them. Activity (any request except the status poll
    the timeout warning makes) moves the idle clock on.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = time.time()
            session = request.session
            started = session.get(SESSION_STARTED, now)
            last = session.get(SESSION_LAST_ACTIVE, now)
            idle_over = now - last > settings.SESSION_IDLE_SECONDS
            absolute_over = now - started > settings.SESSION_ABSOLUTE_SECONDS
            if idle_over or absolute_over:
                logout(request)
                if request.path.startswith("/api/"):
                    return self.get_response(request)
                target = f"{reverse('accounts:login')}?timeout=1"
                if request.method == "GET":
                    target += "&" + urlencode({"next": request.path})
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = target
                    return response
                return redirect(target)
            session.setdefault(SESSION_STARTED, started)
            if request.path not in PASSIVE_PATHS:
                session[SESSION_LAST_ACTIVE] = now
                session.set_expiry(settings.SESSION_COOKIE_AGE)
        return self.get_response(request)


class NoStoreForAuthenticatedMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        return response


class PasswordChangeRequiredMiddleware:
    """After an administrator set a temporary password (`must_change_password`), every
    page sends the user to choose their own until they have: only that page, signing
    out and the session's own status calls are let through. The API answers 403."""

    ALLOWED = ("/session/status", "/session/extend", "/healthz")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.must_change_password:
            allowed = (
                reverse("accounts:password_change"),
                reverse("accounts:logout"),
                settings.STATIC_URL,
                *self.ALLOWED,
            )
            if not request.path.startswith(allowed):
                if request.path.startswith("/api/"):
                    return JsonResponse(
                        {"detail": "Change your temporary password on the website first"},
                        status=403,
                    )
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = reverse("accounts:password_change")
                    return response
                return redirect("accounts:password_change")
        return self.get_response(request)


class ApiAuthFailureGuardMiddleware:
    """Too many failed authentications at the API from one address: 429, before the view.

    DRF authenticates before it checks its throttles, so a request with a bad token is
    answered 401 and never counted by them; this counts those 401s (whichever token
    scheme gave them) per client address in the shared cache. Past
    API_AUTH_FAILURE_LIMIT within a window of API_AUTH_FAILURE_WINDOW_SECONDS, every
    /api/ request from that address is answered 429 with Retry-After until the window
    ends. Windows are fixed (numbered from the epoch), so the answer is the same in every
    web process. A cache that cannot be reached lets requests through (logged).
    """

    PREFIX = "/api/"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(self.PREFIX):
            return self.get_response(request)
        from django.core.cache import cache

        from .services import client_ip
        from .throttles import CACHE_ERRORS

        window = max(1, settings.API_AUTH_FAILURE_WINDOW_SECONDS)
        now = time.time()
        number = int(now // window)
        key = f"api-auth-failures:{client_ip(request) or 'unknown'}:{number}"
        try:
            failures = cache.get(key, 0)
        except CACHE_ERRORS:  # the cache being down must not stop the API
            log.warning("API failed-authentication guard: cache unavailable", exc_info=True)
            return self.get_response(request)
        if failures >= settings.API_AUTH_FAILURE_LIMIT:
            retry_after = max(1, math.ceil((number + 1) * window - now))
            response = JsonResponse(
                {
                    "detail": "Too many failed authentication attempts from this address. "
                    f"Try again in {retry_after} seconds."
                },
                status=429,
            )
            response["Retry-After"] = str(retry_after)
            return response
        response = self.get_response(request)
        if response.status_code == 401:
            try:
                cache.add(key, 0, timeout=window + 1)
                cache.incr(key)
            except ValueError:  # expired between add and incr: this is the first
                cache.set(key, 1, timeout=window + 1)
            except CACHE_ERRORS:
                log.warning("API failed-authentication guard: cache unavailable", exc_info=True)
        return response

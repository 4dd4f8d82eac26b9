"""Session limits (DESIGN.md section 6) and no-store caching for signed-in pages."""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

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

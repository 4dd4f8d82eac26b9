"""Session status and extension for the timeout warning (static/js/session-timeout.mjs).

GET /session/status is passive: SessionLimitsMiddleware does not count it as
activity, so the warning can ask how long is left without keeping the session
alive. POST /session/extend is ordinary activity: the middleware has already moved
the idle clock on by the time the view runs; the view reports the new times.
"""

import math
import time

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from .middleware import SESSION_LAST_ACTIVE, SESSION_STARTED


def _signed_out(status: int) -> JsonResponse:
    return JsonResponse({"signed_in": False}, status=status)


def _times(request) -> dict:
    now = time.time()
    session = request.session
    started = session.get(SESSION_STARTED, now)
    last_active = session.get(SESSION_LAST_ACTIVE, now)
    idle = max(0, math.floor(settings.SESSION_IDLE_SECONDS - (now - last_active)))
    absolute = max(0, math.floor(settings.SESSION_ABSOLUTE_SECONDS - (now - started)))
    return {
        "signed_in": True,
        "idle_seconds_remaining": idle,
        "absolute_seconds_remaining": absolute,
        "seconds_remaining": min(idle, absolute),
        "idle_seconds": settings.SESSION_IDLE_SECONDS,
        "warning_seconds": settings.SESSION_WARNING_SECONDS,
    }


@never_cache
@require_GET
def session_status(request):
    """Seconds left before the idle and the absolute limit; changes nothing.

    Signed out is an answer, not a failure: 200 with signed_in false.
    """
    if not request.user.is_authenticated:
        return _signed_out(200)
    return JsonResponse(_times(request))


@never_cache
@require_POST
def session_extend(request):
    """Stay signed in: the request itself was the activity."""
    if not request.user.is_authenticated:
        return _signed_out(401)
    return JsonResponse(_times(request))

from django.conf import settings


def session_limits(request):
    return {
        "session_idle_seconds": settings.SESSION_IDLE_SECONDS,
        "session_warning_seconds": settings.SESSION_WARNING_SECONDS,
        "demo_mode": settings.DEMO_MODE,
    }

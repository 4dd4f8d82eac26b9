from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found
from kombu import Connection


@login_required
def home(request):
    return redirect("dashboards:home")


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _broker_ok() -> bool:
    """Open a fresh connection to the configured broker, with a short timeout."""
    options = dict(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {})
    options.setdefault("socket_connect_timeout", 2)
    options.setdefault("socket_timeout", 2)
    try:
        with Connection(
            settings.CELERY_BROKER_URL, connect_timeout=2, transport_options=options
        ) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
        return True
    except Exception:
        return False


def _email_check(now) -> dict:
    """Emails given up on (undelivered) and emails overdue: counts only. Either asks for
    attention; neither makes the service unavailable (docs/DECISIONS.md, Notifications)."""
    from accounts.queries import email_health

    try:
        counts = email_health(now)
    except Exception:
        return {"status": "unknown"}
    attention = counts["dead_letters"] or counts["overdue"]
    return {"status": "attention" if attention else "ok", **counts}


@never_cache
@require_GET
def healthz(request):
    """Database and broker reachability (503 without either), and email delivery (200,
    status "attention", when emails are undelivered or overdue); nothing about people
    or cases."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    healthy = all(checks.values())
    body: dict = {"status": "ok" if healthy else "unavailable"}
    body.update({name: "ok" if ok else "unreachable" for name, ok in checks.items()})
    body["email"] = _email_check(timezone.now()) if checks["database"] else {"status": "unknown"}
    if healthy and body["email"]["status"] != "ok":
        body["status"] = "attention"
    return JsonResponse(body, status=200 if healthy else 503)


def not_found(request, exception=None):
    """404: JSON under /api/ (an id that is not a number, a path that is no route), as the
    API's own 404s are; the page everywhere else."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)

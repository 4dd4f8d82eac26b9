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


def _background() -> dict:
    """The sweeps' state (common.sweeps.health), or None if it cannot be read."""
    from common.sweeps import health

    try:
        return {"sweeps": health()}
    except Exception:
        return {"sweeps": None}


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


def _background_checks() -> dict:
    """The sweeps and email delivery, read from the database."""
    return {**_background(), "email": _email_check(timezone.now())}


def _background_ok(background: dict) -> bool:
    sweeps = background["sweeps"]
    return (
        sweeps is not None
        and all(s["status"] == "ok" and not s["set_aside"] for s in sweeps.values())
        and background["email"]["status"] == "ok"
    )


@never_cache
@require_GET
def healthz(request):
    """Database and broker reachability (503 if either fails: this process cannot
    serve), and the background work: each sweep's last finished run and what it set
    aside, and email delivery (undelivered and overdue emails). Background work that
    needs attention makes the status "attention" but not a 503, since this web process
    is well; /healthz/background answers 503 for it, for monitoring. Counts and times
    only: nothing about people or cases."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    healthy = all(checks.values())
    body: dict = {"status": "ok" if healthy else "unavailable"}
    body.update({name: "ok" if ok else "unreachable" for name, ok in checks.items()})
    if checks["database"]:
        background = _background_checks()
        body.update(background)
        if healthy and not _background_ok(background):
            body["status"] = "attention"
    return JsonResponse(body, status=200 if healthy else 503)


@never_cache
@require_GET
def healthz_background(request):
    """200 while every sweep has finished a run within three of its intervals and holds
    nothing set aside, and no email is undelivered or overdue; else 503, for a monitor to
    alert on (beat or the worker stopped, the mail server refusing)."""
    background = (
        _background_checks() if _database_ok() else {"sweeps": None, "email": {"status": "unknown"}}
    )
    ok = _background_ok(background)
    return JsonResponse(
        {"status": "ok" if ok else "attention", **background}, status=200 if ok else 503
    )


def not_found(request, exception=None):
    """404: JSON under /api/ (an id that is not a number, a path that is no route), as the
    API's own 404s are; the page everywhere else."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)

import datetime
import socket

import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse

from cases.services import escalations_sweep
from visits.services import visits_sweep

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_it_answers_200_when_database_and_broker_are_up(client):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("status", "database", "broker", "email")} == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "email": {"status": "ok", "dead_letters": 0, "overdue": 0},
    }
    assert {name: s["status"] for name, s in body["sweeps"].items()} == {
        "escalations": "ok",
        "visits": "ok",
        "notifications": "ok",
        "lone_working": "ok",
    }
    assert "no-cache" in response["Cache-Control"]


def test_it_answers_503_when_the_broker_is_unreachable(client):
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{_closed_port()}/0"):
        response = client.get(reverse("healthz"))

    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == (
        "unavailable",
        "ok",
        "unreachable",
    )
    assert body["email"] == {"status": "ok", "dead_letters": 0, "overdue": 0}


def test_it_answers_503_when_the_database_is_unreachable(client, monkeypatch):
    from safeguarding import views

    monkeypatch.setattr(views, "_database_ok", lambda: False)

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_it_says_nothing_about_people_or_cases(client, worker):
    response = client.get(reverse("healthz"))

    body = response.content.decode()
    assert set(response.json()) == {"status", "database", "broker", "sweeps", "email"}
    for personal in (worker.username, worker.email, worker.get_full_name()):
        if personal:
            assert personal not in body


def test_it_needs_no_login_and_only_answers_get(client):
    assert client.get(reverse("healthz")).status_code == 200
    assert client.post(reverse("healthz")).status_code == 405


# --- The sweeps: a stopped beat or worker is seen -------------------------------------


def _at(minutes):
    return START + datetime.timedelta(minutes=minutes)


START = datetime.datetime(2027, 1, 7, 9, 0, tzinfo=datetime.UTC)


def test_a_sweep_that_has_not_run_for_three_intervals_is_late(client, settings):
    settings.SWEEPS = {"escalations": 300, "visits": 300}
    with time_machine.travel(_at(0), tick=False):
        assert client.get(reverse("healthz_background")).status_code == 200  # watched now
        escalations_sweep(now=_at(0))
        visits_sweep(now=_at(0))
    with time_machine.travel(_at(15), tick=False):  # three intervals: not yet late
        assert client.get(reverse("healthz_background")).status_code == 200
    with time_machine.travel(_at(16), tick=False):
        escalations_sweep(now=_at(16))
        background = client.get(reverse("healthz_background"))
        healthz = client.get(reverse("healthz"))

    assert background.status_code == 503
    sweeps = background.json()["sweeps"]
    assert sweeps["escalations"]["status"] == "ok"
    assert sweeps["visits"] == {
        "status": "late",
        "last_succeeded_at": _at(0).isoformat(),
        "set_aside": 0,
    }
    # The web process itself is well: /healthz stays 200 and says what needs attention.
    assert healthz.status_code == 200
    assert healthz.json()["status"] == "attention"
    assert healthz.json()["sweeps"]["visits"]["status"] == "late"


def test_a_sweep_never_run_is_late_three_intervals_after_it_was_first_watched(client, settings):
    settings.SWEEPS = {"escalations": 60}
    with time_machine.travel(_at(0), tick=False):
        assert client.get(reverse("healthz_background")).json()["status"] == "ok"
    with time_machine.travel(_at(4), tick=False):
        response = client.get(reverse("healthz_background"))
    assert response.status_code == 503
    assert response.json()["sweeps"]["escalations"]["last_succeeded_at"] is None


def _email(recipient, **fields):
    from django.utils import timezone

    from accounts.models import Notification

    now = timezone.now()
    defaults = {"created_at": now, "next_attempt_at": now}
    return Notification.objects.create(
        recipient=recipient,
        event_key=f"escalation:{Notification.objects.count()}:fired",
        channel="email",
        subject="Core group due for SG-1",
        body="Due",
        **{**defaults, **fields},
    )


def test_it_asks_for_attention_without_failing_when_emails_are_undelivered_or_late(
    client, worker, settings
):
    """Undelivered or overdue email is for someone to look at; the service itself is up,
    so the answer stays 200 (a 503 would have the web restarted, which fixes nothing)."""
    import datetime

    from django.utils import timezone

    settings.NOTIFICATIONS_OVERDUE_MINUTES = 30
    _email(worker)  # just written: neither
    _email(worker, sent_at=timezone.now() - datetime.timedelta(hours=2))  # sent
    assert client.get(reverse("healthz")).json()["status"] == "ok"

    _email(worker, dead_at=timezone.now())
    _email(worker, created_at=timezone.now() - datetime.timedelta(minutes=31))
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json()["status"] == "attention"
    assert response.json()["email"] == {"status": "attention", "dead_letters": 1, "overdue": 1}
    assert worker.email not in response.content.decode()

import socket

import pytest
from django.test import override_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_it_answers_200_when_database_and_broker_are_up(client):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_it_answers_503_when_the_broker_is_unreachable(client):
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{_closed_port()}/0"):
        response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "broker": "unreachable"}


def test_it_answers_503_when_the_database_is_unreachable(client, monkeypatch):
    from safeguarding import views

    monkeypatch.setattr(views, "_database_ok", lambda: False)

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_it_says_nothing_about_people_or_cases(client, worker):
    response = client.get(reverse("healthz"))

    body = response.content.decode()
    assert set(response.json()) == {"status", "database", "broker"}
    for personal in (worker.username, worker.email, worker.get_full_name()):
        if personal:
            assert personal not in body


def test_it_needs_no_login_and_only_answers_get(client):
    assert client.get(reverse("healthz")).status_code == 200
    assert client.post(reverse("healthz")).status_code == 405

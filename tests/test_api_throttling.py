"""API throttling: DRF's per-user rate, and the guard that answers 429 to an address
whose requests keep failing authentication (DRF never throttles those: it authenticates
first). Counters live in the shared cache (Redis where configured)."""

import datetime
import json
import os
import socket
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.throttles import UserRateThrottle
from tests.factories import UserFactory

CASES = "/api/v1/cases/"
# A whole number of 300-second windows since the epoch, so the window's end is known.
T0 = datetime.datetime(2026, 12, 7, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def own_counters(settings):
    """Counters of this test's own (a fresh key prefix): nothing left by another test or
    another xdist worker is counted, and nothing is flushed from under them."""
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
    }


@pytest.fixture
def user_rate(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "1000/min", "user": "5/min"},
    }


@pytest.fixture
def guard(settings):
    settings.API_AUTH_FAILURE_LIMIT = 3
    settings.API_AUTH_FAILURE_WINDOW_SECONDS = 300


def signed_in(user):
    client = APIClient()
    client.force_login(user)
    return client


def test_it_throttles_a_user_past_the_user_rate_with_retry_after(worker, user_rate):
    colleague = UserFactory(username="colleague", team=worker.team)
    api = signed_in(worker)
    with time_machine.travel(T0, tick=False) as clock:
        assert [api.get(CASES).status_code for _ in range(5)] == [200] * 5

        throttled = api.get(CASES)
        assert throttled.status_code == 429
        assert throttled["Retry-After"] == "60"
        assert "Expected available in 60 seconds" in throttled.json()["detail"]
        assert signed_in(colleague).get(CASES).status_code == 200  # each user has their own

        clock.shift(datetime.timedelta(seconds=61))
        assert api.get(CASES).status_code == 200


def test_it_counts_requests_that_arrive_together(worker, user_rate):
    class Request:
        user = worker

    def ask(_):
        return UserRateThrottle().allow_request(Request(), None)

    with time_machine.travel(T0, tick=False), ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(40)))

    assert answers.count(True) == 5


def test_it_reads_the_rates_when_a_request_comes(worker, settings):
    api = signed_in(worker)
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "1000/min", "user": "1/min"},
    }
    with time_machine.travel(T0, tick=False):
        assert [api.get(CASES).status_code for _ in range(2)] == [200, 429]


def test_it_answers_429_to_an_address_after_repeated_failed_authentication(worker, guard):
    nobody = APIClient()
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    with time_machine.travel(T0, tick=False) as clock:
        answers = [nobody.get(CASES), bad_token.get(CASES), bad_token.get(CASES)]
        assert [a.status_code for a in answers] == [401] * 3

        refused = bad_token.get(CASES)
        assert refused.status_code == 429
        assert refused["Retry-After"] == "300"
        assert "Too many failed authentication attempts" in refused.json()["detail"]
        # The address is refused whoever it claims to be, before authentication.
        assert signed_in(worker).get(CASES).status_code == 429
        # Another address is not.
        assert bad_token.get(CASES, REMOTE_ADDR="10.9.9.9").status_code == 401

        clock.shift(datetime.timedelta(seconds=120))
        assert bad_token.get(CASES)["Retry-After"] == "180"
        clock.shift(datetime.timedelta(seconds=180))
        assert bad_token.get(CASES).status_code == 401
        assert signed_in(worker).get(CASES).status_code == 200


def test_it_counts_only_failed_authentication_at_the_api(worker, guard, client):
    api = signed_in(worker)
    assert [api.get(CASES).status_code for _ in range(5)] == [200] * 5
    assert api.get("/api/v1/cases/999999999/").status_code == 404
    for _ in range(5):
        client.post("/accounts/sign-in/", {"username": "worker", "password": "wrong"})

    assert APIClient().get(CASES).status_code == 401


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_it_lets_requests_through_when_the_cache_cannot_be_reached(worker, settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    settings.API_AUTH_FAILURE_LIMIT = 1
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token not-a-token")

    assert signed_in(worker).get(CASES).status_code == 200
    assert [bad_token.get(CASES).status_code for _ in range(2)] == [401, 401]
    assert "cache unavailable" in caplog.text


def _settings_in_a_fresh_process(**env: str) -> dict:
    code = (
        "import json; from safeguarding import settings as s; "
        "print(json.dumps(s.CACHES['default']))"
    )
    environ = {k: v for k, v in os.environ.items() if k not in {"CACHE_URL", "CELERY_BROKER_URL"}}
    environ.update(env, DEMO_MODE="1")
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=environ,
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_it_shares_the_cache_in_the_brokers_redis_unless_told_otherwise(tmp_path):
    var = str(tmp_path)
    derived = _settings_in_a_fresh_process(
        CELERY_BROKER_URL="redis://broker.example:6379/4", VAR_DIR=var
    )
    assert derived["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert derived["LOCATION"] == "redis://broker.example:6379/4"
    assert derived["KEY_PREFIX"] == "cache"

    named = _settings_in_a_fresh_process(
        CELERY_BROKER_URL="redis://broker.example:6379/4",
        CACHE_URL="redis://cache.example:6379/0",
        VAR_DIR=var,
    )
    assert named["LOCATION"] == "redis://cache.example:6379/0"

    laptop = _settings_in_a_fresh_process(VAR_DIR=var)
    assert laptop["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"

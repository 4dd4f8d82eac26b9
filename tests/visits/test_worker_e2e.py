"""End to end through a real Celery worker on Redis: four defaulted visits recorded
through the API produce the escalation and its emails within seconds.

The worker is bin/worker itself, on a queue of its own, connected to this session's
PostgreSQL test database; the test publishes to that queue. Needs PostgreSQL and
Redis (CI), as a worker cannot share SQLite's in-memory test database.
"""

import datetime
import os
import time

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts import roles
from accounts.models import Notification
from cases.models import Escalation
from safeguarding.celery import app as celery_app
from tests.factories import CaseFactory, MembershipFactory, TeamFactory, UserFactory, api_token_for
from tests.safeguarding.test_processes import stack  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_and_postgres():
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL)")


@pytest.fixture
def publish_to(stack):  # noqa: F811
    """Send this test's tasks to the test worker's own queue, over the real broker."""
    before = (celery_app.conf.task_default_queue, celery_app.conf.task_always_eager)
    celery_app.conf.task_default_queue = f"test-{stack.tag}"
    celery_app.conf.task_always_eager = False
    yield stack
    celery_app.conf.task_default_queue, celery_app.conf.task_always_eager = before


def test_it_escalates_four_defaulted_visits_through_a_real_worker(
    redis_and_postgres, publish_to, client, tmp_path
):
    procs = publish_to
    mail_dir = procs.var_dir / "mail"
    procs.env.update(
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        CELERY_TASK_DEFAULT_QUEUE=f"test-{procs.tag}",
        NOTIFICATIONS_QUEUE=f"test-{procs.tag}",  # the email sender, on the same queue
    )
    worker_proc = procs.start("worker")
    procs.wait_for("the worker to be ready", lambda: " ready." in worker_proc.output())

    team = TeamFactory(name="North Assessment", code="north")
    worker = UserFactory(username="amira", team=team, email="amira@council.example")
    manager = UserFactory(
        username="grace", team=team, role=roles.TEAM_MANAGER, email="grace@council.example"
    )
    case = CaseFactory(team=team, family_name="Walsh", opened_on=datetime.date(2026, 1, 5))
    case.allocated_workers.add(worker)
    MembershipFactory(case=case, start_date=datetime.date(2026, 1, 5))
    auth = {"HTTP_AUTHORIZATION": f"Token {api_token_for(worker)}"}

    now = timezone.now()
    for days_ago in (10, 7, 4, 1):
        when = (now - datetime.timedelta(days=days_ago)).replace(microsecond=0)
        planned = client.post(
            "/api/v1/visits/",
            {"case": case.pk, "planned_for": when.isoformat(), "kind": "home", "announced": True},
            content_type="application/json",
            **auth,
        )
        assert planned.status_code == 201, planned.content
        recorded = client.post(
            f"/api/v1/visits/{planned.json()['id']}/record/",
            {
                "outcome": "defaulted",
                "occurred_at": when.isoformat(),
                "default_reason": "no_answer",
            },
            content_type="application/json",
            **auth,
        )
        assert recorded.status_code == 200, recorded.content
        if days_ago != 1:
            time.sleep(0.5)  # let the worker see each; three defaults must not fire
            assert not Escalation.objects.filter(case=case).exists()

    started = time.monotonic()
    escalation = procs.wait_for(
        "the worker to fire the escalation",
        lambda: Escalation.objects.filter(case=case).first(),
        timeout=30,
    )
    assert escalation.state == "open"
    assert escalation.required_meeting == "multi_agency"
    assert escalation.trigger_count == 4

    def emails():
        files = list(mail_dir.glob("*.log")) if mail_dir.exists() else []
        text = "".join(f.read_text() for f in files)
        return text if all(u.email in text for u in (worker, manager)) else None

    text = procs.wait_for("the worker to send the emails", emails, timeout=30)
    took = time.monotonic() - started
    assert case.reference in text and case.family_name not in text
    sent = Notification.objects.filter(channel="email", event_key__endswith=":fired")
    assert sorted(n.recipient.username for n in sent) == ["amira", "grace"]
    assert all(n.sent_at for n in sent)
    assert took < 30
    os.environ.get("CI") and print(f"escalation and emails through the worker in {took:.1f} s")

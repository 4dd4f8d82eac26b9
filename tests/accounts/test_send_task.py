"""The send task: on its own queue and schedule, saying what it did; and asking for it
after a commit never turns a saved request into an error, whatever the broker does."""

import datetime
import logging

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from accounts import roles
from accounts.models import Notification
from accounts.tasks import notifications_send
from safeguarding.celery import app as celery_app
from tests.factories import CaseFactory, TeamFactory, UserFactory
from tests.smtp_sink import closed_port


def test_it_runs_on_its_own_queue_and_schedule():
    route = celery_app.amqp.router.route({}, "accounts.tasks.notifications_send")
    assert route["queue"].name == settings.NOTIFICATIONS_QUEUE == "notifications"

    entry = settings.CELERY_BEAT_SCHEDULE["notifications-send"]
    assert entry["task"] == "accounts.tasks.notifications_send"
    assert entry["schedule"] == settings.NOTIFICATIONS_SEND_SECONDS
    assert entry["options"] == {"queue": "notifications"}  # and no expiry

    assert not getattr(notifications_send, "autoretry_for", ())  # a retry could send again
    assert settings.NOTIFICATIONS_SEND_BUDGET_SECONDS < notifications_send.soft_time_limit
    assert notifications_send.time_limit < settings.NOTIFICATIONS_CLAIM_SECONDS


@pytest.mark.django_db
def test_its_result_says_what_happened_when_the_mail_server_is_down(settings, worker):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()
    Notification.objects.create(
        recipient=worker,
        event_key="escalation:1:fired",
        channel="email",
        subject="Core group due",
        body="Due",
        created_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        next_attempt_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )

    result = notifications_send.apply().get()

    assert result["sent"] == 0 and result["deferred"] == 1 and result["dead"] == 0
    assert "ConnectionRefusedError" in result["relay_error"]


@pytest.mark.django_db(transaction=True)
def test_a_request_that_notifies_succeeds_with_the_broker_down(client, broker_down, caplog):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    team = TeamFactory(name="North", code="north")
    worker = UserFactory(username="amira", team=team)
    UserFactory(username="grace", team=team, role=roles.TEAM_MANAGER)
    case = CaseFactory(team=team)
    case.allocated_workers.add(worker)
    client.force_login(worker)

    with caplog.at_level(logging.WARNING, logger="accounts.services"):
        response = client.post(
            reverse("cases:escalation_raise", args=[case.pk]),
            {
                "trigger_date-day": "1",
                "trigger_date-month": "12",
                "trigger_date-year": "2026",
                "reason": "Did not attend the core group",
            },
        )

    assert response.status_code == 302, response.content.decode()[:2000]
    emails = Notification.objects.filter(channel="email")
    assert sorted(n.recipient.username for n in emails) == ["amira", "grace"]
    assert all(n.sent_at is None and n.next_attempt_at is not None for n in emails)
    assert "Could not queue the email send task" in caplog.text

"""Emails exactly once, through a real SMTP server (tests/smtp_sink.py): each marked sent
straight after its own send, a Message-ID of its own that stays the same, backing off
while the server is down and losing nothing, undelivered after repeated refusals, and
sent again by business support once.

Time is passed forward as `now` (and, for the budget, as a timer the server moves on);
nothing here sleeps.
"""

import datetime
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.models import Notification, NotificationResend
from accounts.services import (
    Message,
    notification_resend,
    notification_retry_delay,
    notifications_drain,
    notify,
)
from tests.factories import UserFactory
from tests.safeguarding.test_processes import ROOT, stack  # noqa: F401  (the fixture)
from tests.smtp_sink import SilentServer, SmtpSink, closed_port

pytestmark = pytest.mark.django_db

T0 = timezone.make_aware(datetime.datetime(2026, 12, 7, 9, 0))
SECOND = datetime.timedelta(seconds=1)


@pytest.fixture
def smtp(settings):
    """Point the real SMTP backend at a port; returns a function that does it."""

    def use(port: int, timeout: int = 10):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.EMAIL_TIMEOUT = timeout
        settings.DEFAULT_FROM_EMAIL = "Safeguarding <safeguarding@council.example>"

    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 30
    settings.NOTIFICATIONS_RETRY_MAX_SECONDS = 15 * 60
    settings.NOTIFICATIONS_DEAD_LETTER_AFTER = 3
    return use


def write(*people, event="escalation:1:fired", now=T0, reference="SG-2026-00042"):
    notify(
        [
            Message(
                recipients=list(people),
                event_key=event,
                subject=f"Multi-agency meeting due for {reference}",
                body=f"A multi-agency meeting is due for {reference} by Friday.",
                link="/cases/42/",
                case_id=42,
                case_reference=reference,
            )
        ],
        now=now,
    )
    return Notification.objects.filter(channel="email", event_key=event).order_by("id")


def emails():
    return Notification.objects.filter(channel="email").order_by("id")


# --- One at a time --------------------------------------------------------------------


def test_it_marks_each_email_sent_before_it_sends_the_next(smtp):
    people = [UserFactory() for _ in range(3)]
    write(*people)
    seen_sent = []

    def timer():  # asked before each email: how many are recorded as sent by then
        seen_sent.append(emails().filter(sent_at__isnull=False).count())
        return 0.0

    with SmtpSink() as sink:
        smtp(sink.port)
        report = notifications_drain(now=T0, timer=timer)

    assert report.sent == 3
    assert seen_sent[-4:] == [0, 1, 2, 3]  # before the 1st, 2nd and 3rd, and before the next claim
    assert all(n.sent_at == T0 and n.attempts == 1 for n in emails())


def test_it_keeps_what_was_sent_when_the_server_fails_part_way(smtp):
    first, second, third = (UserFactory() for _ in range(3))
    write(first, second, third)

    with SmtpSink() as sink:
        smtp(sink.port)
        sink.answer_data_with("250 OK", "250 OK", "421 4.3.2 Service shutting down")
        report = notifications_drain(now=T0)

        assert (report.sent, report.deferred, report.failed, report.dead) == (2, 1, 0, 0)
        sent = [n.recipient for n in emails().filter(sent_at__isnull=False)]
        assert sent == [first, second]
        waiting = emails().get(recipient=third)
        assert waiting.next_attempt_at == T0 + 30 * SECOND and waiting.rejections == 0

        # Back again: the third goes, and only the third.
        assert notifications_drain(now=T0 + 30 * SECOND).sent == 1
        assert notifications_drain(now=T0 + 60 * SECOND).sent == 0

    assert [r.recipients for r in sink.data_attempts] == [
        [first.email],
        [second.email],
        [third.email],
        [third.email],
    ]


def test_its_message_id_comes_from_the_notification_and_stays_the_same(smtp):
    worker = UserFactory()
    (note,) = write(worker, event="escalation:7:fired")

    with SmtpSink() as sink:
        smtp(sink.port)
        sink.answer_data_with("451 4.3.0 Try again later")
        assert notifications_drain(now=T0).sent == 0
        assert notifications_drain(now=T0 + 30 * SECOND).sent == 1

    expected = f"<notification-{note.pk}.escalation-7-fired@council.example>"
    assert [r.message_id for r in sink.data_attempts] == [expected, expected]
    message = sink.received[0].message
    assert message["To"] == worker.email
    assert message["Auto-Submitted"] == "auto-generated"
    assert "SG-2026-00042" in message.get_payload()


# --- Backing off ------------------------------------------------------------------------


def test_it_backs_off_exponentially_up_to_a_cap(settings):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 30
    settings.NOTIFICATIONS_RETRY_MAX_SECONDS = 900

    delays = [notification_retry_delay(n).total_seconds() for n in range(1, 9)]

    assert delays == [30, 60, 120, 240, 480, 900, 900, 900]
    assert notification_retry_delay(10_000).total_seconds() == 900


def test_it_loses_nothing_and_sends_each_once_however_long_the_server_refuses(smtp, caplog):
    people = [UserFactory() for _ in range(3)]
    write(*people)
    port = closed_port()
    smtp(port)
    now = T0
    gaps = []

    for _ in range(30):  # hours of refused connections, trying whenever one is due
        report = notifications_drain(now=now)
        assert (report.sent, report.failed, report.dead) == (0, 0, 0)
        assert report.deferred == 3 and "ConnectionRefusedError" in report.relay_error
        nxt = emails().order_by().values_list("next_attempt_at", flat=True).distinct()
        assert len(nxt) == 1  # all three wait for the same next try
        assert notifications_drain(now=nxt[0] - SECOND).relay_error == ""  # nothing tried early
        gaps.append((nxt[0] - now).total_seconds())
        now = nxt[0]

    assert gaps[:7] == [30, 60, 120, 240, 480, 900, 900] and set(gaps[6:]) == {900}
    rows = list(emails())
    assert [n.attempts for n in rows] == [30, 0, 0]  # one email tried per run, not all
    assert all(n.dead_at is None and n.rejections == 0 and n.sent_at is None for n in rows)
    assert "Connection refused" in rows[0].last_error
    assert "could not be reached" in caplog.text

    with SmtpSink(port=port) as sink:  # the server is back, on the same port
        assert notifications_drain(now=now).sent == 3
        assert notifications_drain(now=now + 3600 * SECOND).sent == 0

    assert sorted(r.recipients[0] for r in sink.received) == sorted(p.email for p in people)
    assert len({r.message_id for r in sink.received}) == 3


def test_it_gives_up_waiting_on_a_silent_server_after_the_email_timeout(smtp):
    write(UserFactory())

    with SilentServer() as server:
        smtp(server.port, timeout=1)
        started = time.monotonic()
        report = notifications_drain(now=T0)
        took = time.monotonic() - started

    assert report.sent == 0 and report.deferred == 1
    assert "timed out" in report.relay_error
    assert took < 5  # one EMAIL_TIMEOUT (1 s) and no polite goodbye to a silent server
    assert emails().get().dead_at is None


def test_it_stops_when_its_time_budget_is_spent(smtp):
    people = [UserFactory() for _ in range(6)]
    write(*people)
    clock = [0.0]

    with SmtpSink() as sink:
        smtp(sink.port)

        def each_message_takes_25_seconds(received):
            clock[0] += 25

        sink.on_data = each_message_takes_25_seconds
        report = notifications_drain(now=T0, budget_seconds=60, batch=4, timer=lambda: clock[0])

    # 0, 25 and 50 s are within the budget; at 75 s it stops with the rest in hand.
    assert report.sent == 3 and report.out_of_time
    left = emails().filter(sent_at__isnull=True)
    assert left.count() == 3
    assert all(n.claimed_until is None and n.next_attempt_at <= T0 for n in left)  # due now


def test_it_leaves_alone_what_another_sender_has_claimed(smtp):
    write(UserFactory())
    emails().update(claimed_until=T0 + 5 * 60 * SECOND)

    with SmtpSink() as sink:
        smtp(sink.port)
        assert notifications_drain(now=T0).sent == 0
        assert notifications_drain(now=T0 + 6 * 60 * SECOND).sent == 1

    assert len(sink.received) == 1


# --- Undelivered --------------------------------------------------------------------------


@pytest.fixture
def business_support(team):
    return UserFactory(username="bs", team=team, role=roles.BUSINESS_SUPPORT)


def test_it_sets_aside_an_email_the_server_keeps_refusing(
    smtp, caplog, client, worker, business_support
):
    other = UserFactory()
    write(worker, other)
    now = T0

    with SmtpSink() as sink:
        smtp(sink.port)
        sink.refuse_recipient(worker.email, "550 5.1.1 <worker@council.example>: no mailbox")
        with caplog.at_level(logging.INFO, logger="accounts.services"):
            for expected_dead in (0, 0, 1):
                report = notifications_drain(now=now)
                assert report.dead == expected_dead and report.failed == 1
                note = emails().get(recipient=worker)
                now = note.next_attempt_at or now
            # Given up: never tried again by itself, however long it waits.
            assert notifications_drain(now=now + 10 * 86400 * SECOND).failed == 0

    assert sink.rcpt_attempts.count(worker.email) == 3
    assert [r.recipients for r in sink.received] == [[other.email]]
    note = emails().get(recipient=worker)
    assert note.dead_at is not None and note.rejections == 3 and note.attempts == 3
    assert note.last_error.startswith("550 5.1.1")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    logged = errors[0].getMessage()
    assert f"notification {note.pk}" in logged and "SG-2026-00042" in logged
    for private in (note.body, note.subject, worker.email, worker.get_full_name()):
        assert private not in logged

    # /healthz: counted, asks for attention, still 200
    health = client.get(reverse("healthz")).json()
    assert health["status"] == "attention"
    assert health["email"] == {"status": "attention", "dead_letters": 1, "overdue": 0}


def test_business_support_see_undelivered_emails_and_send_one_again_once(
    smtp, client, worker, business_support
):
    (note,) = write(worker)
    emails().update(
        dead_at=T0, attempts=5, rejections=5, last_error="550 5.1.1 no mailbox", next_attempt_at=T0
    )
    client.force_login(business_support)

    page = client.get(reverse("accounts:undelivered_emails"))
    assert page.status_code == 200
    body = page.content.decode()
    assert worker.email in body and note.subject in body and "550 5.1.1 no mailbox" in body

    resend = reverse("accounts:undelivered_email_resend", args=[note.pk])
    assert client.post(resend).status_code == 302
    assert client.post(resend).status_code == 302  # twice: the second is refused

    (record,) = NotificationResend.objects.all()
    assert (record.notification, record.resent_by, record.dead_at) == (note, business_support, T0)
    note.refresh_from_db()
    assert note.dead_at is None and note.rejections == 0 and note.attempts == 5

    with SmtpSink() as sink:
        smtp(sink.port)
        assert notifications_drain().sent == 1
        assert notifications_drain().sent == 0
    assert [r.recipients for r in sink.received] == [[worker.email]]
    page = client.get(reverse("accounts:undelivered_emails")).content.decode()
    assert "Sent again recently" in page and "delivered" in page


@pytest.mark.parametrize(
    "role",
    [roles.SOCIAL_WORKER, roles.TEAM_MANAGER, roles.PRACTICE_SUPERVISOR, roles.SERVICE_MANAGER],
)
def test_only_business_support_and_superusers_manage_undelivered_emails(client, team, worker, role):
    (note,) = write(worker)
    emails().update(dead_at=T0, rejections=5)
    someone = UserFactory(team=team, role=role)
    client.force_login(someone)

    assert client.get(reverse("accounts:undelivered_emails")).status_code == 403
    resend = reverse("accounts:undelivered_email_resend", args=[note.pk])
    assert client.post(resend).status_code == 403
    assert (
        client.post(reverse("accounts:undelivered_email_resend", args=[999999])).status_code == 403
    )
    with pytest.raises(Exception, match="Only business support"):
        notification_resend(actor=someone, notification=note, now=T0)
    assert not NotificationResend.objects.exists()
    assert (
        "Undelivered emails" not in client.get(reverse("accounts:notifications")).content.decode()
    )


def test_a_superuser_manages_undelivered_emails_and_needs_no_role(client, worker):
    (note,) = write(worker)
    emails().update(dead_at=T0, rejections=5)
    admin = UserFactory(username="admin", is_superuser=True)
    admin.groups.clear()
    client.force_login(admin)

    assert client.get(reverse("accounts:undelivered_emails")).status_code == 200
    assert "Undelivered emails" in client.get(reverse("accounts:notifications")).content.decode()
    client.post(reverse("accounts:undelivered_email_resend", args=[note.pk]))
    assert NotificationResend.objects.get().resent_by == admin


def test_it_refuses_to_resend_an_email_that_is_not_undelivered(worker, business_support):
    (note,) = write(worker)

    with pytest.raises(Exception, match="not undelivered"):
        notification_resend(actor=business_support, notification=note, now=T0)
    emails().update(sent_at=T0)
    with pytest.raises(Exception, match="not undelivered"):
        notification_resend(actor=business_support, notification=note, now=T0)


def test_it_shows_emails_waiting_longer_than_the_threshold(
    settings, smtp, client, worker, business_support
):
    settings.NOTIFICATIONS_OVERDUE_MINUTES = 30
    long_ago = timezone.now() - datetime.timedelta(minutes=45)
    write(worker, event="escalation:1:fired", now=long_ago)
    write(worker, event="escalation:2:fired", now=timezone.now())  # just written: not overdue
    emails().filter(event_key="escalation:1:fired").update(
        attempts=4, last_error="ConnectionRefusedError: [Errno 111] Connection refused"
    )
    client.force_login(business_support)

    body = client.get(reverse("accounts:undelivered_emails")).content.decode()
    assert "1 email still being tried" in body and "Connection refused" in body
    health = client.get(reverse("healthz")).json()
    assert health["email"] == {"status": "attention", "dead_letters": 0, "overdue": 1}
    assert health["status"] == "attention"


# --- Senders that die, senders side by side (real processes and threads, PostgreSQL) ----


def _need_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: row locks, and a database another process can see")


@pytest.mark.django_db(transaction=True)
def test_a_sender_killed_mid_batch_sends_again_only_the_email_in_flight(stack, smtp):  # noqa: F811
    _need_postgresql()
    people = [UserFactory() for _ in range(6)]
    write(*people, now=timezone.now())
    sender = None

    with SmtpSink() as sink:
        smtp(sink.port)  # for this process's sender, after the killed one

        def kill_the_sender_at_the_third(received):
            if len(sink.data_attempts) == 3:
                os.kill(sender.pid, signal.SIGKILL)  # before it hears the 250

        sink.on_data = kill_the_sender_at_the_third
        env = {
            **stack.env,
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(sink.port),
            "DEFAULT_FROM_EMAIL": settings.DEFAULT_FROM_EMAIL,
        }
        sender = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                "from accounts.services import notifications_drain; notifications_drain()",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert sender.wait(timeout=60) == -signal.SIGKILL

        assert emails().filter(sent_at__isnull=False).count() == 2  # recorded as they went
        claimed = emails().filter(sent_at__isnull=True, claimed_until__isnull=False)
        assert claimed.count() == 4  # the third, in flight, and the rest of the batch

        # Nobody sends them while the dead sender's claim holds; then the next run does.
        assert notifications_drain().sent == 0
        later = timezone.now() + datetime.timedelta(seconds=settings.NOTIFICATIONS_CLAIM_SECONDS)
        assert notifications_drain(now=later).sent == 4

    per_person = Counter(r.recipients[0] for r in sink.received)
    in_flight = sink.data_attempts[2].recipients[0]
    assert per_person == {p.email: 2 if p.email == in_flight else 1 for p in people}
    twice = [r.message_id for r in sink.received if r.recipients[0] == in_flight]
    assert twice[0] == twice[1]  # the same Message-ID: a relay can drop the repeat


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_send_each_email_once(smtp):
    _need_postgresql()
    people = [UserFactory() for _ in range(12)]
    write(*people, now=T0)
    barrier = threading.Barrier(2)
    reports = []

    def send():
        try:
            barrier.wait(timeout=20)
            reports.append(notifications_drain(now=T0, batch=3))
        finally:
            connection.close()

    with SmtpSink() as sink:
        smtp(sink.port)
        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert sum(r.sent for r in reports) == 12
    assert sorted(r.recipients[0] for r in sink.received) == sorted(p.email for p in people)

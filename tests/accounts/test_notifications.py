import datetime
from unittest import mock

from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notification
from accounts.services import Message, notifications_send_due, notify
from tests.factories import UserFactory


def test_it_creates_one_notification_per_recipient_and_channel_however_often_called(worker):
    other = UserFactory(email="")
    for _ in range(3):
        notify(
            [
                Message(
                    recipients=[worker, other, worker],
                    event_key="escalation:1:fired",
                    subject="Core group due",
                    body="Due Wednesday",
                    link="/cases/1/",
                )
            ]
        )
    rows = Notification.objects.order_by("recipient_id", "channel")
    assert [(n.recipient, n.channel) for n in rows] == [
        (worker, "email"),
        (worker, "in_app"),
        (other, "in_app"),
    ]  # no address, no email


def test_it_sends_each_email_once_and_marks_it_sent(worker):
    notify(
        [
            Message(
                recipients=[worker],
                event_key="escalation:1:fired",
                subject="Core group due",
                body="Due Wednesday",
                link="/cases/1/",
            )
        ]
    )
    assert notifications_send_due() == 1
    assert notifications_send_due() == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [worker.email]
    assert "/cases/1/" in mail.outbox[0].body
    assert Notification.objects.get(channel="email").sent_at is not None


def test_it_lists_my_notifications_and_marks_them_read(client, worker):
    notify(
        [
            Message(
                recipients=[worker],
                event_key="escalation:1:fired",
                subject="Core group <due>",
                body="Due Wednesday",
                link="/cases/1/",
            ),
            Message(
                recipients=[UserFactory()],
                event_key="escalation:2:fired",
                subject="Not yours",
                body="x",
            ),
        ],
        email=False,
    )
    client.force_login(worker)
    body = client.get(reverse("accounts:notifications")).content.decode()
    assert "Core group &lt;due&gt;" in body and "Not yours" not in body
    assert 'aria-label="1 unread"' in body
    client.post(reverse("accounts:notifications_read"))
    body = client.get(reverse("accounts:notifications")).content.decode()
    assert "unread" not in body


def _send_statements(now):
    with CaptureQueriesContext(connection) as queries:
        sent = notifications_send_due(now=now)
    return sent, len(queries.captured_queries)


def test_it_sends_a_batch_in_statements_that_do_not_grow_with_it(worker):
    now = timezone.now()

    def send(n):
        people = [UserFactory() for _ in range(n)]
        notify(
            [
                Message(
                    recipients=[person],
                    event_key=f"escalation:{person.pk}:fired",
                    subject="Core group due",
                    body="Due Wednesday",
                )
                for person in people
            ]
        )
        return _send_statements(now)

    (one, one_statements), (five, five_statements) = send(1), send(5)
    assert (one, five) == (1, 5)
    assert one_statements == five_statements
    assert not Notification.objects.filter(channel="email", sent_at__isnull=True).exists()


def test_it_records_an_email_that_failed_and_sends_the_others(worker):
    other = UserFactory()
    notify(
        [
            Message(
                recipients=[worker, other],
                event_key="escalation:1:fired",
                subject="Core group due",
                body="Due Wednesday",
            )
        ]
    )
    real_send = mail.send_mail

    def refuse_worker(subject, body, sender, to, **kwargs):
        if to == [worker.email]:
            raise OSError("mailbox unavailable")
        return real_send(subject, body, sender, to, **kwargs)

    with mock.patch("django.core.mail.send_mail", side_effect=refuse_worker):
        assert notifications_send_due() == 1

    assert [m.to for m in mail.outbox] == [[other.email]]
    failed = Notification.objects.get(channel="email", recipient=worker)
    assert (failed.sent_at, failed.attempts, failed.claimed_until) == (None, 1, None)
    assert failed.last_error == "mailbox unavailable"
    sent = Notification.objects.get(channel="email", recipient=other)
    assert sent.sent_at is not None and sent.attempts == 1 and sent.claimed_until is None

    assert notifications_send_due() == 1  # tried again, and sent this time
    assert Notification.objects.get(pk=failed.pk).attempts == 2
    assert len(mail.outbox) == 2


def test_it_leaves_alone_an_email_another_sender_has_claimed(worker):
    now = timezone.now()
    notify(
        [
            Message(
                recipients=[worker],
                event_key="escalation:1:fired",
                subject="Core group due",
                body="Due Wednesday",
            )
        ],
        now=now,
    )
    Notification.objects.filter(channel="email").update(
        claimed_until=now + datetime.timedelta(minutes=5)
    )

    assert notifications_send_due(now=now) == 0
    assert notifications_send_due(now=now + datetime.timedelta(minutes=6)) == 1
    assert len(mail.outbox) == 1

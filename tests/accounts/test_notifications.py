import datetime

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


def test_it_claims_a_batch_at_once_and_records_each_email_by_itself(worker):
    """Claiming costs the same for one email or five; each email sent is then recorded
    by one statement of its own, straight after it went."""
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
            ],
            now=now,
        )
        return _send_statements(now)

    (one, one_statements), (five, five_statements) = send(1), send(5)
    assert (one, five) == (1, 5)
    assert five_statements - one_statements == 4
    assert not Notification.objects.filter(channel="email", sent_at__isnull=True).exists()


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


def test_an_email_for_an_event_dated_ahead_is_due_at_once(worker):
    # A sweep run by hand "as of" a later moment still has its emails sent now.
    ahead = timezone.now() + datetime.timedelta(days=3)
    notify(
        [Message(recipients=[worker], event_key="escalation:1:fired", subject="Due", body="Due")],
        now=ahead,
    )

    assert notifications_send_due() == 1
    assert Notification.objects.get(channel="email").created_at == ahead

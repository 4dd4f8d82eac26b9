from django.core import mail
from django.urls import reverse

from accounts.models import Notification
from accounts.services import notifications_send_due, notify
from tests.factories import UserFactory


def test_it_creates_one_notification_per_recipient_and_channel_however_often_called(worker):
    other = UserFactory(email="")
    for _ in range(3):
        notify(recipients=[worker, other, worker], event_key="escalation:1:fired",
               subject="Core group due", body="Due Wednesday", link="/cases/1/")
    rows = Notification.objects.order_by("recipient_id", "channel")
    assert [(n.recipient, n.channel) for n in rows] == [
        (worker, "email"), (worker, "in_app"), (other, "in_app")]  # no address, no email


def test_it_sends_each_email_once_and_marks_it_sent(worker):
    notify(recipients=[worker], event_key="escalation:1:fired", subject="Core group due",
           body="Due Wednesday", link="/cases/1/")
    assert notifications_send_due() == 1
    assert notifications_send_due() == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [worker.email]
    assert "/cases/1/" in mail.outbox[0].body
    assert Notification.objects.get(channel="email").sent_at is not None


def test_it_lists_my_notifications_and_marks_them_read(client, worker):
    notify(recipients=[worker], event_key="escalation:1:fired", subject="Core group <due>",
           body="Due Wednesday", link="/cases/1/", email=False)
    notify(recipients=[UserFactory()], event_key="escalation:2:fired", subject="Not yours",
           body="x", email=False)
    client.force_login(worker)
    body = client.get(reverse("accounts:notifications")).content.decode()
    assert "Core group &lt;due&gt;" in body and "Not yours" not in body
    assert 'aria-label="1 unread"' in body
    client.post(reverse("accounts:notifications_read"))
    body = client.get(reverse("accounts:notifications")).content.decode()
    assert "unread" not in body

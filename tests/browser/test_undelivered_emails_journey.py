"""Business support find an email the mail server refused, from Notifications, and send
it again; the page is clean for axe before and after."""

import datetime

import pytest
from django.utils import timezone

from accounts import roles
from accounts.models import Notification, NotificationResend
from tests.browser.signing_in import sign_in
from tests.factories import TeamFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_business_support_send_an_undelivered_email_again(page, axe, password):
    team = TeamFactory(name="North Assessment", code="north")
    UserFactory(
        username="bea", first_name="Bea", last_name="Okafor", team=team, role=roles.BUSINESS_SUPPORT
    )
    amira = UserFactory(
        username="amira",
        first_name="Amira",
        last_name="Hussain",
        team=team,
        email="amira@council.example",
    )
    now = timezone.now()
    note = Notification.objects.create(
        recipient=amira,
        event_key="escalation:1:fired",
        channel=Notification.Channel.EMAIL,
        subject="Multi-agency meeting due for SG-2026-00042",
        body="A multi-agency meeting is due for SG-2026-00042.",
        created_at=now - datetime.timedelta(hours=1),
        next_attempt_at=now - datetime.timedelta(minutes=50),
        attempts=5,
        rejections=5,
        last_error="550 5.1.1 Mailbox unavailable",
        dead_at=now - datetime.timedelta(minutes=40),
    )

    sign_in(page, "bea", password)
    page.goto("/accounts/notifications/")
    page.get_by_role("link", name="Undelivered emails").click()
    page.wait_for_url("**/accounts/notifications/undelivered/")
    row = page.get_by_role("row").filter(has_text="SG-2026-00042")
    assert "550 5.1.1 Mailbox unavailable" in row.inner_text()
    axe.check(page, "undelivered emails")

    row.get_by_role("button", name="Send again").click()
    page.wait_for_url("**/accounts/notifications/undelivered/")
    assert "Sending again to amira@council.example" in page.inner_text("main")
    assert "Sent again recently" in page.inner_text("main")
    axe.check(page, "undelivered emails, sent again")
    assert page.console_errors == []

    note.refresh_from_db()
    assert note.dead_at is None
    assert NotificationResend.objects.get().resent_by.username == "bea"

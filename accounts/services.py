from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from .models import AccessLog, Notification, User

if TYPE_CHECKING:  # types only: accounts sits left of cases
    from cases.models import Case


def client_ip(request: HttpRequest | None) -> str | None:
    """The client address; behind the proxy the last hop it appended is trusted.

    Whatever a header says, the answer is an IP address or None: a hop that is not an
    address ("unknown", a name, an address with a port) is recorded as not known, never
    as the proxy's own address and never as the text sent.
    """
    if request is None:
        return None
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return _ip_or_none(forwarded.split(",")[-1])
    return _ip_or_none(request.META.get("REMOTE_ADDR", ""))


def _ip_or_none(value: str) -> str | None:
    text = value.strip().split("%")[0]  # fe80::1%eth0: the zone means nothing here
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return None
    return text


def access_log_record(
    *,
    user: User,
    case: Case,
    what: str,
    request: HttpRequest | None = None,
    now: datetime.datetime | None = None,
) -> AccessLog:
    """Write who viewed, exported or downloaded what of which case."""
    return AccessLog.objects.create(
        user=user,
        case_id=case.pk,
        case_reference=case.reference,
        what=what[:200],
        at=now or timezone.now(),
        ip_address=client_ip(request),
    )


# --- Notifications (an outbox) -----------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One event to tell some people of: the same subject, body and link for each."""

    recipients: Iterable[User | None]
    event_key: str
    subject: str
    body: str
    link: str = ""
    case_id: int | None = None


def notify(
    messages: Iterable[Message], *, now: datetime.datetime | None = None, email: bool = True
) -> None:
    """Queue one notification per message, recipient and channel, all in one statement
    however many messages there are.

    Creating the same event twice adds nothing (a unique constraint, not a read
    first). In-app notifications are delivered by being written; emails are sent
    after the transaction commits, and retried by the sweep if that fails.
    """
    now = now or timezone.now()
    channels = [Notification.Channel.IN_APP] + ([Notification.Channel.EMAIL] if email else [])
    rows = []
    for message in messages:
        users = {u.pk: u for u in message.recipients if u is not None and u.is_active}
        rows += [
            Notification(
                recipient=user,
                event_key=message.event_key,
                channel=channel,
                subject=message.subject[:200],
                body=message.body,
                link=message.link,
                case_id=message.case_id,
                created_at=now,
                sent_at=now if channel == Notification.Channel.IN_APP else None,
            )
            for user in users.values()
            for channel in channels
            if channel != Notification.Channel.EMAIL or user.email
        ]
    if not rows:
        return
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    if any(row.channel == Notification.Channel.EMAIL for row in rows):
        from .tasks import notifications_send  # tasks imports this module

        # Sending finds nothing to do if these rows already existed: that is harmless.
        transaction.on_commit(lambda: notifications_send.delay())


def notifications_send_due(
    *, now: datetime.datetime | None = None, batch: int = 50, claim_seconds: int = 300
) -> int:
    """Send unsent emails, a batch at a time at a cost in statements that does not grow
    with the batch: one locks the due rows (SKIP LOCKED: rows another sender is claiming
    are left to it) and one claims them until a time, in a transaction of their own; the
    emails then go out with no transaction open, so no row lock is held while the mail
    server is slow, and what happened to them is written afterwards (one statement for
    those sent, one for those that failed). Two senders never send the same email; a
    sender stopped part way leaves its unrecorded emails to be sent again once the claim
    lapses."""
    from django.core.mail import send_mail
    from django.db.models import F, Q

    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
            .filter(sent_at__isnull=True, channel=Notification.Channel.EMAIL)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .filter(attempts__lt=10)
            .order_by("created_at", "id")[:batch]
        )
        if not due:
            return 0
        Notification.objects.filter(pk__in=[note.pk for note in due]).update(
            claimed_until=now + datetime.timedelta(seconds=claim_seconds)
        )
    sent, failed = [], []
    try:
        for note in due:
            try:
                send_mail(
                    note.subject,
                    _email_body(note),
                    None,
                    [note.recipient.email],
                    fail_silently=False,
                )
            except Exception as exc:  # the sweep retries it later
                note.attempts += 1
                note.last_error = str(exc)[:500]
                note.claimed_until = None
                failed.append(note)
            else:
                sent.append(note.pk)
    finally:
        if sent:
            Notification.objects.filter(pk__in=sent).update(
                sent_at=timezone.now(),
                attempts=F("attempts") + 1,
                claimed_until=None,
                last_error="",
            )
        if failed:
            Notification.objects.bulk_update(failed, ["attempts", "last_error", "claimed_until"])
    return len(sent)


def _email_body(note: Notification) -> str:
    from django.conf import settings

    link = f"\n\n{settings.SITE_URL.rstrip('/')}{note.link}" if note.link else ""
    return (
        f"{note.body}{link}\n\n"
        "This message is OFFICIAL-SENSITIVE. Sign in to the case management system for "
        "the details; do not forward it."
    )

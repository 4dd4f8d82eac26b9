from django.db import transaction
from django.utils import timezone

from .models import AccessLog, Notification


def client_ip(request) -> str | None:
    """The client address; behind the proxy the last hop it appended is trusted."""
    if request is None:
        return None
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def access_log_record(*, user, case, what: str, request=None, now=None) -> AccessLog:
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


def notify(
    *, recipients, event_key: str, subject: str, body: str, link: str = "",
    case_id: int | None = None, now=None, email: bool = True,
) -> None:
    """Queue one notification per recipient and channel for an event.

    Creating the same event twice adds nothing (a unique constraint, not a read
    first). In-app notifications are delivered by being written; emails are sent
    after the transaction commits, and retried by the sweep if that fails.
    """
    now = now or timezone.now()
    channels = [Notification.Channel.IN_APP] + ([Notification.Channel.EMAIL] if email else [])
    users = {u.pk: u for u in recipients if u is not None and u.is_active}
    rows = [
        Notification(
            recipient=user, event_key=event_key, channel=channel, subject=subject[:200],
            body=body, link=link, case_id=case_id, created_at=now,
            sent_at=now if channel == Notification.Channel.IN_APP else None,
        )
        for user in users.values() for channel in channels
        if channel != Notification.Channel.EMAIL or user.email
    ]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    if any(row.channel == Notification.Channel.EMAIL for row in rows):
        from .tasks import notifications_send  # tasks imports this module

        # Sending finds nothing to do if these rows already existed: that is harmless.
        transaction.on_commit(lambda: notifications_send.delay())


def notifications_send_due(*, now=None, batch: int = 50, claim_seconds: int = 300) -> int:
    """Send unsent emails. Each is claimed by a compare-and-swap update first, and the
    email goes out with no transaction open, so two senders never send the same one
    and no row lock is held while the mail server is slow."""
    import datetime

    from django.core.mail import send_mail
    from django.db.models import Q

    now = now or timezone.now()
    sent = 0
    due = (
        Notification.objects.filter(sent_at__isnull=True, channel=Notification.Channel.EMAIL)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(attempts__lt=10)
        .order_by("created_at")
        .values_list("pk", flat=True)[:batch]
    )
    for pk in list(due):
        until = now + datetime.timedelta(seconds=claim_seconds)
        claimed = Notification.objects.filter(pk=pk, sent_at__isnull=True).filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
        ).update(claimed_until=until)
        if claimed != 1:
            continue
        note = Notification.objects.select_related("recipient").get(pk=pk)
        try:
            send_mail(
                note.subject, _email_body(note), None, [note.recipient.email],
                fail_silently=False,
            )
        except Exception as exc:  # the sweep retries it later
            Notification.objects.filter(pk=pk).update(
                attempts=note.attempts + 1, last_error=str(exc)[:500], claimed_until=None
            )
            continue
        Notification.objects.filter(pk=pk).update(
            sent_at=timezone.now(), attempts=note.attempts + 1, claimed_until=None, last_error=""
        )
        sent += 1
    return sent


def _email_body(note) -> str:
    from django.conf import settings

    link = f"\n\n{settings.SITE_URL.rstrip('/')}{note.link}" if note.link else ""
    return (
        f"{note.body}{link}\n\n"
        "This message is OFFICIAL-SENSITIVE. Sign in to the case management system for "
        "the details; do not forward it."
    )

from __future__ import annotations

import datetime
import functools
import ipaddress
import logging
import re
import smtplib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.db.models.functions import Least
from django.http import HttpRequest
from django.utils import timezone
from python_ipware import IpWare
from python_ipware.modern.parsers import parse_ip

from . import policy
from .models import AccessLog, Notification, NotificationResend, User

if TYPE_CHECKING:  # types only: accounts sits left of cases
    from cases.models import Case


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address: the peer's own, unless the peer is a trusted proxy.

    Only a peer listed in settings.TRUSTED_PROXIES (addresses or networks) may say who it
    forwarded for; from any other peer X-Forwarded-For is ignored, whatever it says. From a
    trusted proxy, the hop TRUSTED_PROXY_COUNT proxies back is the client (python-ipware,
    which django-ipware wraps, picks it out of the chain). Whatever the headers say, the
    answer is an IP address or None: a chain too short for the proxies configured, or a
    hop that is not an address ("unknown", a name), is recorded as not known, never as
    the proxy's own address and never as the text sent. It never raises.
    """
    if request is None:
        return None
    peer = _ip_or_none(request.META.get("REMOTE_ADDR", ""))
    if peer is None or not _is_trusted_proxy(peer):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if not isinstance(forwarded, str) or not forwarded.strip():
        return None  # a trusted proxy that names nobody: the client is not known
    # The hops our own proxies appended (the last TRUSTED_PROXY_COUNT) must all be
    # addresses; else ipware would skip a bad one and take the client's own (forgeable)
    # entry in its place. Whatever the client put to their left is never read, however
    # long.
    count = max(settings.TRUSTED_PROXY_COUNT, 1)
    hops = forwarded.rsplit(",", count)[-count:]
    if len(hops) < count or any(parse_ip(hop.strip()) is None for hop in hops):
        return None
    # python-ipware (under django-ipware) picks the client out of the hops we may believe:
    # the first of them, the peer being the last proxy.
    ip, _trusted = IpWare(
        precedence=("HTTP_X_FORWARDED_FOR",), proxy_count=count - 1
    ).get_client_ip({"HTTP_X_FORWARDED_FOR": ",".join(hops)}, strict=True)
    return _ip_or_none(str(ip)) if ip is not None else None


def _is_trusted_proxy(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in trusted_proxy_networks())


@functools.cache
def _networks(
    entries: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def trusted_proxy_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """settings.TRUSTED_PROXIES read as networks (an address is a network of one)."""
    return _networks(tuple(settings.TRUSTED_PROXIES))


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
    people: Iterable[int] = (),
    via: str = AccessLog.Via.PAGE,
) -> list[AccessLog]:
    """Write, now and in one INSERT, who was shown (exported, downloaded) which people of
    which case: one row per person, or one for the case if it named nobody. For work done
    outside a request's answer (an export requested, a task); pages and the API note what
    they show with accounts.access.record, written once after they answer."""
    at = now or timezone.now()
    ip = client_ip(request)
    route = ""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        route = (match.view_name or match.route or "")[:200]
    rows = [
        AccessLog(
            user=user,
            person_id=person_id,
            case_id=case.pk,
            case_reference=case.reference,
            what=what[:200],
            via=via,
            route=route,
            at=at,
            ip_address=ip,
        )
        for person_id in _people_or_none(people)
    ]
    return AccessLog.objects.bulk_create(rows)


def _people_or_none(people: Iterable[int]) -> list[int | None]:
    """Each person once, in order; none at all is one row for the case."""
    found: list[int | None] = list(dict.fromkeys(people))
    return found or [None]


# --- Notifications (an outbox) -----------------------------------------------------------
#
# In-app notifications are delivered by being written. Emails are sent by the send task
# alone (accounts.tasks.notifications_send, queued by notify() after the commit and run
# by beat every NOTIFICATIONS_SEND_SECONDS), which drains what is due within a budget.
# docs/DECISIONS.md ("Notifications") says why it works as it does.

logger = logging.getLogger(__name__)

# After an email went out, how long to keep trying to record it while the database is
# out of reach: its claim still holds, so nobody sends it again meanwhile.
MARK_SENT_RETRY_SECONDS = 60


@dataclass(frozen=True)
class Message:
    """One event to tell some people of: the same subject, body and link for each."""

    recipients: Iterable[User | None]
    event_key: str
    subject: str
    body: str
    link: str = ""
    case_id: int | None = None
    case_reference: str = ""


def notify(
    messages: Iterable[Message], *, now: datetime.datetime | None = None, email: bool = True
) -> None:
    """Queue one notification per message, recipient and channel, all in one statement
    however many messages there are.

    Creating the same event twice adds nothing (a unique constraint, not a read
    first). In-app notifications are delivered by being written; emails are due at
    once, and the send task is asked for after the transaction commits. Asking never
    fails the caller: with the broker out of reach, beat's run of the task sends them.
    """
    now = now or timezone.now()
    due = min(now, timezone.now())  # an event dated ahead (a sweep run by hand) waits for nothing
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
                case_reference=message.case_reference[:32],
                created_at=now,
                sent_at=now if channel == Notification.Channel.IN_APP else None,
                next_attempt_at=due if channel == Notification.Channel.EMAIL else None,
            )
            for user in users.values()
            for channel in channels
            if channel != Notification.Channel.EMAIL or user.email
        ]
    if not rows:
        return
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    if any(row.channel == Notification.Channel.EMAIL for row in rows):
        # Sending finds nothing to do if these rows already existed: that is harmless.
        transaction.on_commit(notifications_send_soon)


def notifications_send_soon() -> None:
    """Ask a worker to send what is due now. Called after a commit, so it never raises:
    a broker that cannot be reached is logged and the emails wait for beat's next run
    of the send task (every NOTIFICATIONS_SEND_SECONDS)."""
    from .tasks import notifications_send  # tasks imports this module

    try:
        # One quick retry at most: a request must not wait on a broker that is down.
        notifications_send.apply_async(
            retry=True,
            retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.5},
        )
    except Exception as exc:
        logger.warning(
            "Could not queue the email send task (%s: %s); beat's next run sends the emails",
            type(exc).__name__,
            exc,
        )


def notification_retry_delay(attempts: int) -> datetime.timedelta:
    """How long an email waits after its `attempts`-th failed try: the base, doubling
    with each try, up to the cap (NOTIFICATIONS_RETRY_BASE_SECONDS, ..._MAX_SECONDS)."""
    from django.conf import settings

    from common.sweeps import backoff

    return backoff(
        attempts,
        first=settings.NOTIFICATIONS_RETRY_BASE_SECONDS,
        most=settings.NOTIFICATIONS_RETRY_MAX_SECONDS,
    )


def notification_message_id(note: Notification) -> str:
    """The email's Message-ID, the same on every try, so a relay (or a mail client) that
    has seen it can drop a repeat: the notification's id and event, at the sender's
    domain."""
    from django.conf import settings

    event = re.sub(r"[^A-Za-z0-9]+", "-", note.event_key).strip("-")[:64] or "event"
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    domain = re.sub(r"[^A-Za-z0-9.-]", "", address.rpartition("@")[2]).strip(".")
    return f"<notification-{note.pk}.{event}@{domain or 'localhost'}>"


@dataclass
class SendReport:
    """What one run of the sender did: the task's result and its log line."""

    sent: int = 0
    failed: int = 0  # refused by the mail server (the message): tried again later
    dead: int = 0  # of those, refused too often: set aside as undelivered
    deferred: int = 0  # waiting because the mail server could not be reached
    relay_error: str = ""  # what happened when it could not be reached
    out_of_time: bool = False  # the budget ran out with emails in hand

    def as_dict(self) -> dict[str, int | str | bool]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "dead": self.dead,
            "deferred": self.deferred,
            "relay_error": self.relay_error,
            "out_of_time": self.out_of_time,
        }

    def __str__(self) -> str:
        text = f"{self.sent} sent, {self.failed} refused ({self.dead} undelivered)"
        if self.relay_error:
            text += f", {self.deferred} deferred: mail server unreachable ({self.relay_error})"
        if self.out_of_time:
            text += ", stopped at the time budget"
        return text


def notifications_send_due(
    *,
    now: datetime.datetime | None = None,
    budget_seconds: float | None = None,
    batch: int | None = None,
) -> int:
    """Send the emails that are due (`notifications_drain`); the number sent."""
    return notifications_drain(now=now, budget_seconds=budget_seconds, batch=batch).sent


def notifications_drain(
    *,
    now: datetime.datetime | None = None,
    budget_seconds: float | None = None,
    batch: int | None = None,
    timer: Callable[[], float] = time.monotonic,
) -> SendReport:
    """Send the emails that are due, oldest due first, until none is left, the mail
    server cannot be reached, or the budget (NOTIFICATIONS_SEND_BUDGET_SECONDS, measured
    by `timer`) is spent.

    A batch is claimed at a time (SKIP LOCKED: rows another sender is claiming are left
    to it; claimed until NOTIFICATIONS_CLAIM_SECONDS from now) in a transaction of its
    own; each email then goes out over one SMTP connection kept for the whole run, with
    no transaction open, and is recorded by a statement of its own straight after. Two
    senders never send the same email; a sender stopped part way can have sent at most
    the one email it had in flight without recording it, and that one carries the same
    Message-ID when it goes again.

    A connection that fails (refused, timed out, dropped, or a 4xx from the server)
    means the server is down, not that the message is bad: the run stops there and that
    email and every other one due before its next try wait with it, counting nothing
    towards giving up. A message the server refuses (5xx for it) is tried again later
    and, refused NOTIFICATIONS_DEAD_LETTER_AFTER times, set aside as undelivered.
    """
    from django.conf import settings

    def clock() -> datetime.datetime:
        return now if now is not None else timezone.now()

    if budget_seconds is None:
        budget_seconds = settings.NOTIFICATIONS_SEND_BUDGET_SECONDS
    batch = batch or settings.NOTIFICATIONS_SEND_BATCH
    deadline = timer() + budget_seconds
    report = SendReport()
    smtp = _SmtpConnection()
    try:
        while not report.relay_error and not report.out_of_time:
            if timer() >= deadline:
                report.out_of_time = True
                break
            claimed = _claim_due(clock(), batch)
            if not claimed:
                break
            for index, note in enumerate(claimed):
                if timer() >= deadline:
                    _release(claimed[index:])
                    report.out_of_time = True
                    break
                try:
                    _send_one(note, claimed[index + 1 :], smtp, clock, report)
                except BaseException:
                    # Stopped by something else (a time limit, the database): the
                    # emails not yet tried are due again at once; the one in flight
                    # keeps its claim, as it may have gone.
                    _release(claimed[index + 1 :], quietly=True)
                    raise
                if report.relay_error:
                    break
    finally:
        smtp.close()
    if report.sent or report.failed or report.relay_error or report.out_of_time:
        logger.info("Email: %s", report)
    return report


def _claim_due(at: datetime.datetime, batch: int) -> list[Notification]:
    from django.conf import settings

    with transaction.atomic():
        due = list(
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
            .filter(
                channel=Notification.Channel.EMAIL,
                sent_at__isnull=True,
                dead_at__isnull=True,
                next_attempt_at__lte=at,
            )
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=at))
            .order_by("next_attempt_at", "id")[:batch]
        )
        if due:
            Notification.objects.filter(pk__in=[note.pk for note in due]).update(
                claimed_until=at + datetime.timedelta(seconds=settings.NOTIFICATIONS_CLAIM_SECONDS)
            )
    return due


def _release(notes: list[Notification], *, quietly: bool = False) -> None:
    """Emails claimed but not tried: due again at once, for the next run. Quietly: on
    the way out of a failure, when their claim lapsing later will do as well."""
    if not notes:
        return
    try:
        Notification.objects.filter(
            pk__in=[note.pk for note in notes], sent_at__isnull=True
        ).update(claimed_until=None)
    except Exception:
        if not quietly:
            raise


class _SmtpConnection:
    """One connection to the mail server (EMAIL_BACKEND), opened at the first email of
    a run and kept for the rest; EMAIL_TIMEOUT bounds every wait on the server."""

    def __init__(self) -> None:
        self.backend: Any = None

    def send(self, message: EmailMessage) -> None:
        if self.backend is None:
            backend = get_connection(fail_silently=False)
            backend.open()
            self.backend = backend
        message.connection = self.backend
        if message.send() != 1:
            raise ValueError("The mail backend sent nothing")

    def drop(self) -> None:
        """After the server failed: close the socket without a polite QUIT, which a
        server that stopped answering would make us wait for."""
        backend, self.backend = self.backend, None
        smtp = getattr(backend, "connection", None)
        if smtp is not None:
            try:
                smtp.close()
            except Exception:  # closing what is broken; nothing more to do
                pass
            backend.connection = None

    def close(self) -> None:
        backend, self.backend = self.backend, None
        if backend is not None:
            try:
                backend.close()
            except Exception:  # the emails are recorded; a failed QUIT changes nothing
                pass


# How a failure counts: the server is down (wait, never give up), the server refused
# this message (counts towards giving up), or refused it for now (4xx for the recipient).
RELAY_DOWN, REJECTED, REFUSED_FOR_NOW = "relay down", "rejected", "refused for now"
UNKNOWN = "unknown"


def _failure_kind(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        if not codes or 421 in codes:  # 421: the server is closing the connection
            return RELAY_DOWN
        return REJECTED if all(code >= 500 for code in codes) else REFUSED_FOR_NOW
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return RELAY_DOWN  # our own address: the set-up is wrong, not this message
    if isinstance(exc, smtplib.SMTPDataError):
        return REJECTED if exc.smtp_code >= 500 else RELAY_DOWN
    if isinstance(exc, OSError):  # every other SMTP error, refused, timed out, reset
        return RELAY_DOWN
    if isinstance(exc, ValueError):  # the message could not be made (a bad header, no
        return REJECTED  # address): trying again will not help
    return UNKNOWN  # not the mail server's doing (a time limit, a bug): the run stops


def _error_text(exc: Exception) -> str:
    """What the server said (code and reply), or what went wrong; never the message."""

    def reply(code: int, text: bytes | str) -> str:
        words = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return f"{code} {' '.join(words.split())}"

    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        text = "; ".join(reply(code, said) for code, said in exc.recipients.values())
    elif isinstance(exc, smtplib.SMTPResponseException):
        text = reply(exc.smtp_code, exc.smtp_error)
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:500]


def _email_message(note: Notification) -> EmailMessage:
    from django.conf import settings

    if not note.recipient.email:
        raise ValueError("The recipient has no email address")
    return EmailMessage(
        subject=note.subject,
        body=_email_body(note),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[note.recipient.email],
        headers={"Message-ID": notification_message_id(note), "Auto-Submitted": "auto-generated"},
    )


def _send_one(
    note: Notification,
    untried: list[Notification],
    smtp: _SmtpConnection,
    clock: Callable[[], datetime.datetime],
    report: SendReport,
) -> None:
    try:
        smtp.send(_email_message(note))
    except Exception as exc:
        kind = _failure_kind(exc)
        if kind == UNKNOWN:
            raise
        if kind == RELAY_DOWN:
            smtp.drop()
            report.deferred += _wait_for_relay(note, untried, exc, clock())
            report.relay_error = _relay_error_text(exc)
            logger.warning(
                "Email: the mail server could not be reached (%s); %s emails wait for it",
                report.relay_error,
                report.deferred,
            )
        else:
            _refused(note, exc, clock(), counts=kind == REJECTED, report=report)
    else:
        _mark_sent(note, clock())
        report.sent += 1


def _relay_error_text(exc: Exception) -> str:
    """For the log: the kind of failure, and the server's code or the socket's error
    ("Connection refused", "timed out"); never an address or a message."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"{type(exc).__name__} 421"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} {exc.smtp_code}"
    return f"{type(exc).__name__}: {exc}"[:200] if str(exc) else type(exc).__name__


def _mark_sent(note: Notification, at: datetime.datetime) -> None:
    """Its own statement, straight after the send. With the database out of reach the
    claim still holds, so keep trying for a while rather than leave it to be sent again
    (outside a transaction only: inside one, the caller's transaction is lost anyway)."""
    from django.db import connection

    give_up = time.monotonic() + MARK_SENT_RETRY_SECONDS
    while True:
        try:
            Notification.objects.filter(pk=note.pk, sent_at__isnull=True).update(
                sent_at=at,
                attempts=Least(F("attempts") + 1, Notification.COUNT_MAX),
                claimed_until=None,
                last_error="",
            )
            return
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block or time.monotonic() >= give_up:
                raise
            logger.warning("Email: notification %s sent, not yet recorded; retrying", note.pk)
            connection.close()
            time.sleep(1)


def _wait_for_relay(
    note: Notification, untried: list[Notification], exc: Exception, at: datetime.datetime
) -> int:
    """The server is down: this email backs off, and every other one due before it
    (those this run had claimed, and those nobody has) waits until the same time, so
    the next run tries one email, not the whole queue. Returns how many wait."""
    attempts = min(note.attempts + 1, Notification.COUNT_MAX)
    retry_at = at + notification_retry_delay(attempts)
    Notification.objects.filter(pk=note.pk, sent_at__isnull=True).update(
        attempts=attempts, last_error=_error_text(exc), next_attempt_at=retry_at, claimed_until=None
    )
    others = (
        Notification.objects.filter(
            channel=Notification.Channel.EMAIL,
            sent_at__isnull=True,
            dead_at__isnull=True,
            next_attempt_at__lt=retry_at,
        )
        .filter(
            Q(pk__in=[n.pk for n in untried])
            | Q(claimed_until__isnull=True)
            | Q(claimed_until__lte=at)
        )
        .exclude(pk=note.pk)
        .update(next_attempt_at=retry_at, claimed_until=None)
    )
    return 1 + others


def _refused(
    note: Notification, exc: Exception, at: datetime.datetime, *, counts: bool, report: SendReport
) -> None:
    from django.conf import settings

    attempts = min(note.attempts + 1, Notification.COUNT_MAX)
    rejections = min(note.rejections + (1 if counts else 0), Notification.COUNT_MAX)
    fields: dict[str, Any] = {
        "attempts": attempts,
        "rejections": rejections,
        "last_error": _error_text(exc),
        "claimed_until": None,
    }
    report.failed += 1
    unsent = Notification.objects.filter(pk=note.pk, sent_at__isnull=True, dead_at__isnull=True)
    if counts and rejections >= settings.NOTIFICATIONS_DEAD_LETTER_AFTER:
        if unsent.update(dead_at=at, **fields):
            report.dead += 1
            code = getattr(exc, "smtp_code", None) or next(
                (c for c, _ in getattr(exc, "recipients", {}).values()), None
            )
            logger.error(
                "Email notification %s (case %s) is undelivered: refused %s times%s. "
                "Business support can send it again from the undelivered emails page.",
                note.pk,
                note.case_reference or (f"id {note.case_id}" if note.case_id else "none"),
                rejections,
                f" (last: {code})" if code else f" ({type(exc).__name__})",
            )
    else:
        unsent.update(next_attempt_at=at + notification_retry_delay(attempts), **fields)


def _email_body(note: Notification) -> str:
    from django.conf import settings

    link = f"\n\n{settings.SITE_URL.rstrip('/')}{note.link}" if note.link else ""
    return (
        f"{note.body}{link}\n\n"
        "This message is OFFICIAL-SENSITIVE. Sign in to the case management system for "
        "the details; do not forward it."
    )


@transaction.atomic
def notification_resend(
    *, actor: User, notification: Notification, now: datetime.datetime | None = None
) -> Notification:
    """Send an undelivered email again: due at once, with a fresh count of refusals.
    Who did it and how the email stood are kept (NotificationResend); sent again twice
    at once, it goes once (the second finds it no longer undelivered)."""
    now = now or timezone.now()
    if not policy.can_manage_notifications(actor):
        raise PermissionDenied("Only business support or an administrator can resend emails")
    note = Notification.objects.select_for_update().get(pk=notification.pk)
    if note.channel != Notification.Channel.EMAIL or note.dead_at is None or note.sent_at:
        raise ValidationError("This email is not undelivered: it was sent or is still being tried")
    NotificationResend.objects.create(
        notification=note,
        resent_by=actor,
        resent_at=now,
        dead_at=note.dead_at,
        attempts=note.attempts,
        last_error=note.last_error,
    )
    note.dead_at = None
    note.rejections = 0
    note.next_attempt_at = now
    note.claimed_until = None
    note.save(update_fields=["dead_at", "rejections", "next_attempt_at", "claimed_until"])
    transaction.on_commit(notifications_send_soon)
    return note

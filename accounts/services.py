from __future__ import annotations

import datetime
import functools
import ipaddress
import logging
import math
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
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.db.models.functions import Least
from django.http import HttpRequest
from django.utils import timezone
from python_ipware import IpWare
from python_ipware.modern.parsers import parse_ip

from common import records

from . import policy, roles
from .models import (
    AccessLog,
    Agency,
    ApiToken,
    ClosureDay,
    ExternalIdentity,
    Notification,
    NotificationResend,
    PartnerCall,
    PartnerClient,
    RoleChange,
    SecondFactorReset,
    SignInUnlock,
    Team,
    User,
)

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


# --- Single sign-on: accounts at an identity provider ------------------------------------


def external_identity_link(
    *, actor: User | None, user: User, issuer: str, subject: str, now: datetime.datetime
) -> ExternalIdentity:
    """Record that the person the identity provider `issuer` knows by `subject` (the
    claim OIDC_USER_CLAIM names) signs in as `user`. Linking the same pair again changes
    nothing. A subject already linked to someone else, or a user already linked to
    another subject of that provider, is refused: end that link first. `actor` None is
    the system itself (a management command run by whoever runs the service)."""
    if actor is not None and not policy.can_link_external_identity(actor, user):
        raise PermissionDenied("Only business support or an administrator can link accounts")
    issuer = issuer.strip()
    subject = subject.strip()
    if not issuer:
        raise ValidationError({"issuer": "Enter the identity provider's issuer"})
    if not subject:
        raise ValidationError({"subject": "Enter the subject the identity provider gives them"})
    if len(issuer) > 300 or len(subject) > 255:
        raise ValidationError("The issuer or subject is too long")
    active = ExternalIdentity.objects.filter(issuer=issuer, ended_at__isnull=True)
    existing = active.filter(subject=subject).select_related("user").first()
    if existing is not None:
        if existing.user_id == user.pk:
            return existing
        raise ValidationError(
            {"subject": f"This identity already signs in as {existing.user.username}"}
        )
    if active.filter(user=user).exists():
        raise ValidationError(
            {"subject": f"{user.username} is already linked to another identity there"}
        )
    identity = ExternalIdentity(
        user=user, issuer=issuer, subject=subject, created_at=now, created_by=actor
    )
    identity._history_user = actor  # type: ignore[attr-defined]
    try:
        with transaction.atomic():
            identity.save()
    except IntegrityError as exc:  # linked at the same moment by someone else
        raise ValidationError("This identity or user was linked at the same moment") from exc
    logger.info(
        "Single sign-on: %s linked to subject %r of %s by %s",
        user.username,
        subject,
        issuer,
        actor.username if actor is not None else "the system",
    )
    return identity


def external_identity_end(
    *, actor: User | None, identity: ExternalIdentity, now: datetime.datetime
) -> ExternalIdentity:
    """End a link: that person no longer signs in as the user. Kept, with who and when."""
    if actor is not None and not policy.can_link_external_identity(actor, identity.user):
        raise PermissionDenied("Only business support or an administrator can unlink accounts")
    updated = ExternalIdentity.objects.filter(pk=identity.pk, ended_at__isnull=True).first()
    if updated is None:
        return identity
    updated.ended_at = now
    updated.ended_by = actor
    updated._history_user = actor  # type: ignore[attr-defined]
    updated.save(update_fields=["ended_at", "ended_by"])
    return updated


def external_identity_record_sign_in(*, identity: ExternalIdentity, now: datetime.datetime) -> None:
    """The linked person signed in (as Django records `last_login`): no history row."""
    ExternalIdentity.objects.filter(pk=identity.pk).update(last_sign_in_at=now)


# --- Administration: users, teams, agencies, closure days -------------------------------
#
# Each service asks the policy first (accounts.policy, "Administration"), validates, then
# writes with the actor on the history row (common.records). An update that changes
# nothing writes nothing. docs/DECISIONS.md ("Administration in the application").

# Roles whose holders work in a team (they see their team's cases through it); the
# council-wide roles need none.
TEAMLESS_ROLES = (roles.INFORMATION_GOVERNANCE, roles.SYSTEM_ADMINISTRATOR)

USER_FIELDS = ("first_name", "last_name", "email", "job_title", "team")


def _refuse(message: str) -> PermissionDenied:
    return PermissionDenied(message)


def _check_role_and_team(*, role: str, team: Team | None, old_team_id: int | None) -> None:
    if role not in roles.ALL_ROLES:
        raise ValidationError({"role": "Select a role"})
    if team is None and role not in TEAMLESS_ROLES:
        raise ValidationError({"team": f"Select the team of this {role.lower()}"})
    if team is not None and not team.active and team.pk != old_team_id:
        raise ValidationError({"team": f"{team.name} is inactive: select an active team"})


def _clean_user_values(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = {name: values[name] for name in USER_FIELDS if name in values}
    for name in ("first_name", "last_name", "job_title"):
        if name in cleaned:
            cleaned[name] = " ".join(str(cleaned[name] or "").split())
    if "email" in cleaned:
        cleaned["email"] = User.objects.normalize_email((cleaned["email"] or "").strip())
    for name in ("first_name", "last_name"):
        if name in cleaned and not cleaned[name]:
            label = name.replace("_", " ")
            raise ValidationError({name: f"Enter the {label}"})
    return cleaned


def _save_user(
    user: User, actor: User, *, reason: str = "", now: datetime.datetime | None = None
) -> User:
    """Validate the fields (a council-wide role has no team, which the model's form
    validation would refuse) and save with the actor, and the time of the change, on
    the history row."""
    user.full_clean(exclude=["team", "password"], validate_unique=False, validate_constraints=False)
    if now is not None:
        user._history_date = now  # type: ignore[attr-defined]
    return records.save(user, actor, reason=reason, validate=False)


def _set_role(*, actor: User, user: User, role: str, now: datetime.datetime) -> bool:
    """Make `role` the user's one role; False when it already was. Written as a
    RoleChange row (the user's history does not hold group memberships)."""
    from django.contrib.auth.models import Group

    before = sorted(user.groups.values_list("name", flat=True))
    if before == [role]:
        return False
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.set([group])
    user._role_names = {role}
    RoleChange.objects.create(
        user=user,
        changed_by=actor,
        changed_at=now,
        before=", ".join(before)[:500],
        after=role,
    )
    return True


def role_change_record(
    *, actor: User | None, user: User, before: Iterable[str], now: datetime.datetime
) -> RoleChange | None:
    """Record a change of roles made outside the services (the Django admin, where
    superusers may still edit groups): from `before` to what the user holds now."""
    before_names = sorted(before)
    after_names = sorted(user.groups.values_list("name", flat=True))
    if before_names == after_names:
        return None
    return RoleChange.objects.create(
        user=user,
        changed_by=actor,
        changed_at=now,
        before=", ".join(before_names)[:500],
        after=", ".join(after_names)[:500],
    )


@transaction.atomic
def user_create(
    *,
    actor: User,
    username: str,
    first_name: str,
    last_name: str,
    email: str = "",
    job_title: str = "",
    team: Team | None,
    role: str,
    now: datetime.datetime | None = None,
) -> User:
    """A new account with one role. It has no usable password until an administrator
    gives it a temporary one (`user_set_temporary_password`) or single sign-on is used."""
    now = now or timezone.now()
    if not policy.can_manage_users(actor):
        raise _refuse("Only business support or a system administrator can add users")
    if not policy.can_grant_role(actor, role):
        raise _refuse(f"You cannot give the {role} role")
    username = (username or "").strip()
    if not username:
        raise ValidationError({"username": "Enter a username"})
    User.username_validator(username)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "A user with this username already exists"})
    values = _clean_user_values(
        {
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "job_title": job_title,
            "team": team,
        }
    )
    _check_role_and_team(role=role, team=team, old_team_id=None)
    user = User(username=username, **values)
    user.set_unusable_password()
    _save_user(user, actor, reason="Added", now=now)
    _set_role(actor=actor, user=user, role=role, now=now)
    return user


@transaction.atomic
def user_update(
    *,
    actor: User,
    user: User,
    role: str | None = None,
    now: datetime.datetime | None = None,
    **values: Any,
) -> list[str]:
    """Change a user's details (first_name, last_name, email, job_title, team) and role.
    Returns what changed; nothing changed writes nothing."""
    now = now or timezone.now()
    user = User.objects.select_for_update().get(pk=user.pk)
    if not policy.can_edit_user(actor, user):
        raise _refuse("You cannot change this user")
    unknown = set(values) - set(USER_FIELDS)
    if unknown:
        raise TypeError(f"user_update() got unexpected fields: {', '.join(sorted(unknown))}")
    role_changes = role is not None and role not in user.role_names
    if role_changes:
        assert role is not None
        if not policy.can_change_roles(actor, user, role):
            raise _refuse(f"You cannot give the {role} role")
    cleaned = _clean_user_values(values)
    new_team = cleaned.get("team", user.team)
    effective_role = role if role_changes else user.role_label
    if effective_role:
        _check_role_and_team(role=effective_role, team=new_team, old_team_id=user.team_id)
    changed = records.assign(user, **{k: v for k, v in cleaned.items() if k != "team"})
    if "team" in cleaned and user.team_id != (new_team.pk if new_team else None):
        user.team = new_team
        changed.append("team")
    if changed:
        _save_user(user, actor, now=now)
    if role_changes and role and _set_role(actor=actor, user=user, role=role, now=now):
        changed.append("role")
    return changed


def user_sessions_end(*, user: User, now: datetime.datetime | None = None) -> int:
    """Delete every stored session signed in as `user`; how many.

    Sessions are in the database (SESSION_ENGINE db) and hold the user's id only inside
    the encoded data, so each unexpired session is decoded: a few thousand rows at most,
    as sessions end after SESSION_COOKIE_AGE idle (docs/DECISIONS.md).
    """
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session

    now = now or timezone.now()
    mine = []
    for session in Session.objects.filter(expire_date__gt=now).iterator(chunk_size=500):
        if str(session.get_decoded().get(SESSION_KEY)) == str(user.pk):
            mine.append(session.session_key)
    if not mine:
        return 0
    deleted, _ = Session.objects.filter(session_key__in=mine).delete()
    return deleted


@transaction.atomic
def user_deactivate(
    *, actor: User, user: User, reason: str, now: datetime.datetime | None = None
) -> User:
    """Switch an account off, with a reason: it can no longer sign in, and every session
    it has ends now (its next request is signed out). API tokens end here too once token
    authentication is connected to it (django-rest-knox; see docs/DECISIONS.md)."""
    now = now or timezone.now()
    user = User.objects.select_for_update().get(pk=user.pk)
    if not policy.can_deactivate_user(actor, user):
        if not user.is_active:
            raise ValidationError("This account is already switched off")
        raise _refuse("You cannot switch off this account")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": "Enter why the account is being switched off"})
    user.is_active = False
    user.deactivated_at = now
    user.deactivated_by = actor
    user.deactivation_reason = reason[:500]
    _save_user(user, actor, reason=f"Switched off: {reason}", now=now)
    user_sessions_end(user=user, now=now)
    return user


@transaction.atomic
def user_reactivate(
    *, actor: User, user: User, reason: str = "", now: datetime.datetime | None = None
) -> User:
    """Switch an account back on. Its old sessions were ended when it was switched off."""
    now = now or timezone.now()
    user = User.objects.select_for_update().get(pk=user.pk)
    if not policy.can_reactivate_user(actor, user):
        if user.is_active:
            raise ValidationError("This account is already active")
        raise _refuse("You cannot switch on this account")
    user.is_active = True
    user.deactivated_at = None
    user.deactivated_by = None
    user.deactivation_reason = ""
    reason = " ".join((reason or "").split())
    _save_user(user, actor, reason=f"Switched on again{': ' + reason if reason else ''}", now=now)
    return user


@transaction.atomic
def user_set_temporary_password(
    *, actor: User, user: User, password: str, now: datetime.datetime | None = None
) -> User:
    """Give a temporary password, told to the user by the administrator (never emailed):
    the user must choose a new one at their next sign-in. Their sessions end."""
    from django.contrib.auth.password_validation import validate_password

    now = now or timezone.now()
    user = User.objects.select_for_update().get(pk=user.pk)
    if not policy.can_set_password(actor, user):
        raise _refuse("You cannot set this user's password")
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.must_change_password = True
    user._history_date = now  # type: ignore[attr-defined]
    records.save(user, actor, reason="Temporary password set", validate=False)
    user_sessions_end(user=user, now=now)
    return user


@transaction.atomic
def user_change_own_password(*, user: User, old_password: str, new_password: str) -> User:
    """A signed-in user chooses a new password (and, after a temporary one, must)."""
    from django.contrib.auth.password_validation import validate_password

    if not _active_user(user):
        raise _refuse("Sign in to change your password")
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.check_password(old_password):
        raise ValidationError({"old_password": "Your current password is not right"})
    if old_password == new_password:
        raise ValidationError({"new_password1": "Choose a password different from the old one"})
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password1": exc.messages}) from exc
    user.set_password(new_password)
    user.must_change_password = False
    records.save(user, user, reason="Password changed", validate=False)
    return user


def _active_user(user: Any) -> bool:
    return user is not None and user.is_authenticated and user.is_active


@transaction.atomic
def team_create(*, actor: User, name: str, code: str, now: datetime.datetime | None = None) -> Team:
    if not policy.can_manage_teams(actor):
        raise _refuse("You cannot add teams")
    team = Team(name=" ".join((name or "").split()), code=(code or "").strip().lower())
    _check_team_unique(team)
    return records.save(team, actor, reason="Added")


def _check_team_unique(team: Team) -> None:
    others = Team.objects.exclude(pk=team.pk)
    if others.filter(name__iexact=team.name).exists():
        raise ValidationError({"name": "A team with this name already exists"})
    if others.filter(code__iexact=team.code).exists():
        raise ValidationError({"code": "A team with this code already exists"})


@transaction.atomic
def team_update(
    *,
    actor: User,
    team: Team,
    name: str | None = None,
    code: str | None = None,
    active: bool | None = None,
    now: datetime.datetime | None = None,
) -> list[str]:
    """Rename a team or switch it off. A team is switched off only when it has no active
    members and no open cases: move them first (a case or a worker in no live team
    would drop out of every team dashboard)."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    if not policy.can_manage_teams(actor):
        raise _refuse("You cannot change teams")
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = " ".join(name.split())
    if code is not None:
        values["code"] = code.strip().lower()
    if active is not None:
        values["active"] = active
    changed = records.assign(team, **values)
    if not changed:
        return []
    if "active" in changed and not team.active:
        members = team.members.filter(is_active=True).count()
        open_cases = team.cases.filter(status="open").count()
        if members or open_cases:
            raise ValidationError(
                {
                    "active": f"{team.name} still has {members} active member"
                    f"{'s' if members != 1 else ''} and {open_cases} open case"
                    f"{'s' if open_cases != 1 else ''}: move them to another team first"
                }
            )
    _check_team_unique(team)
    records.save(team, actor)
    return changed


@transaction.atomic
def agency_create(
    *, actor: User, name: str, kind: str, now: datetime.datetime | None = None
) -> Agency:
    if not policy.can_manage_agencies(actor):
        raise _refuse("You cannot add agencies")
    agency = Agency(name=" ".join((name or "").split()), kind=kind)
    _check_agency_unique(agency)
    return records.save(agency, actor, reason="Added")


def _check_agency_unique(agency: Agency) -> None:
    if Agency.objects.exclude(pk=agency.pk).filter(name__iexact=agency.name).exists():
        raise ValidationError({"name": "An agency with this name already exists"})


@transaction.atomic
def agency_update(
    *,
    actor: User,
    agency: Agency,
    name: str | None = None,
    kind: str | None = None,
    active: bool | None = None,
    now: datetime.datetime | None = None,
) -> list[str]:
    """Rename an agency, change its kind, or switch it off (it stays on the records that
    name it; it is no longer offered for new ones)."""
    agency = Agency.objects.select_for_update().get(pk=agency.pk)
    if not policy.can_manage_agencies(actor):
        raise _refuse("You cannot change agencies")
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = " ".join(name.split())
    if kind is not None:
        values["kind"] = kind
    if active is not None:
        values["active"] = active
    changed = records.assign(agency, **values)
    if changed:
        _check_agency_unique(agency)
        records.save(agency, actor)
    return changed


@transaction.atomic
def closure_day_add(
    *, actor: User, date: datetime.date, reason: str, now: datetime.datetime | None = None
) -> ClosureDay:
    """A local closure day: working-day deadlines worked out from now on skip it.
    Deadlines already fixed (an escalation's due date) stay as they were announced."""
    if not policy.can_manage_closure_days(actor):
        raise _refuse("You cannot add closure days")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": "Enter why the offices are closed"})
    if date.weekday() >= 5:
        raise ValidationError({"date": "This is a weekend: it is not a working day anyway"})
    if ClosureDay.objects.in_force().filter(date=date).exists():
        raise ValidationError({"date": f"{date:%-d %B %Y} is already a closure day"})
    day = ClosureDay(date=date, reason=reason)
    return records.save(day, actor, reason="Added")


@transaction.atomic
def closure_day_withdraw(
    *, actor: User, day: ClosureDay, reason: str, now: datetime.datetime | None = None
) -> ClosureDay:
    """Withdraw a closure day entered by mistake: kept, with who, when and why; working
    days counted from now on count it again."""
    now = now or timezone.now()
    day = ClosureDay.objects.select_for_update().get(pk=day.pk)
    if not policy.can_manage_closure_days(actor):
        raise _refuse("You cannot withdraw closure days")
    if day.withdrawn_at is not None:
        raise ValidationError("This closure day has already been withdrawn")
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": "Enter why the closure day is withdrawn"})
    day.withdrawn_at = now
    day.withdrawn_by = actor
    day.withdrawal_reason = reason[:200]
    return records.save(day, actor, reason=f"Withdrawn: {reason}")


# --- Sign-in lockouts -----------------------------------------------------------------------


@transaction.atomic
def sign_in_unlock(
    *,
    actor: User,
    username: str,
    ip_address: str | None,
    now: datetime.datetime | None = None,
) -> SignInUnlock:
    """End the lockout of a username at an address before its cool-off does: its failed
    attempts are reset through axes, and who did it, when and how it stood are kept
    (SignInUnlock). A username locked at an unknown address is reset at every address
    (axes resets by username, or by username and address). Unlocking what is not
    locked (it ended, or someone else unlocked it) is refused."""
    from axes.utils import reset

    from . import lockout

    now = now or timezone.now()
    if not policy.can_unlock_sign_in(actor):
        raise PermissionDenied("Only business support or an administrator can unlock sign-in")
    current = lockout.lockout_for(
        username=username, ip_address=ip_address, now=now, for_update=True
    )
    if current is None:
        raise ValidationError(
            "This sign-in is not locked now: the pause ended or someone unlocked it"
        )
    reset(ip=ip_address, username=username)
    unlock = SignInUnlock.objects.create(
        username=username,
        ip_address=ip_address,
        failures=current.failures,
        locked_until=current.until,
        unlocked_by=actor,
        unlocked_at=now,
    )
    logger.info(
        "Sign-in unlocked by %s: username %r from address %s",
        actor.get_username(),
        username,
        ip_address or "unknown",
    )
    return unlock


# --- Second factor (accounts/second_factor.py; docs/DECISIONS.md) -------------------------

second_factor_log = logging.getLogger("accounts.second_factor")
AUTHENTICATOR_APP = "Authenticator app"
RECOVERY_CODES = "Recovery codes"


def _authenticator(user: User) -> Any:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def _recovery_device(user: User) -> Any:
    from django_otp.plugins.otp_static.models import StaticDevice

    return StaticDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def recovery_codes_remaining(user: User) -> int:
    device = _recovery_device(user)
    return device.token_set.count() if device is not None else 0


def _recovery_codes_issue(user: User) -> list[str]:
    """A fresh set of single-use codes; the set before (if any) stops working and is
    kept, marked unconfirmed."""
    from django.conf import settings
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

    StaticDevice.objects.filter(user=user, confirmed=True).update(confirmed=False)
    device = StaticDevice.objects.create(user=user, name=RECOVERY_CODES, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(settings.SECOND_FACTOR_RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return f"{minutes} minutes"
    return f"{math.ceil(minutes / 60)} hours"


def _normalise_code(code: str) -> str:
    return "".join(str(code).split()).lower()


def second_factor_check(*, user: User, code: str, app_only: bool = False) -> Any:
    """The device that accepts `code` (a 6-digit code from the authenticator app or,
    unless `app_only`, a recovery code, which is then used up), or ValidationError:
    code "throttled" (too many wrong codes: wait) or "invalid". Wrong codes count
    towards django-otp's throttling."""
    code = _normalise_code(code)
    is_app_code = len(code) == 6 and code.isdigit()
    if not is_app_code and app_only:
        raise ValidationError("Enter the 6-digit code from your authenticator app", code="invalid")
    model_device = _authenticator(user) if is_app_code else _recovery_device(user)
    refused: ValidationError | None = None
    device = None
    if model_device is not None:
        with transaction.atomic():
            device = type(model_device).objects.select_for_update().get(pk=model_device.pk)
            allowed, info = device.verify_is_allowed()
            if not allowed:
                until = (info or {}).get("locked_until")
                wait = max(1, math.ceil((until - timezone.now()).total_seconds())) if until else 1
                refused = ValidationError(
                    f"Too many wrong codes. Wait {_duration(wait)}, then try again.",
                    code="throttled",
                )
            elif not device.verify_token(code):
                device = None
    if refused is not None:
        raise refused
    if device is None:
        raise ValidationError(
            "The code is not right. Check your authenticator app and enter the code it "
            "shows now, or enter one of your recovery codes",
            code="invalid",
        )
    return device


def second_factor_enrol(
    *, actor: User, key: str, code: str, now: datetime.datetime
) -> tuple[Any, list[str]]:
    """Set up the authenticator app holding secret `key` (hex), proven by one code
    from it, and issue recovery codes. Returns (device, codes)."""
    from binascii import unhexlify

    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if not policy.can_set_up_second_factor(actor):
        raise PermissionDenied
    code = _normalise_code(code)
    if not (len(code) == 6 and code.isdigit()):
        raise ValidationError("Enter the 6-digit code from your authenticator app", code="invalid")
    totp = TOTP(unhexlify(key.encode()), step=30, t0=0, digits=6, drift=0)
    totp.time = now.timestamp()
    if not totp.verify(int(code), tolerance=1):
        raise ValidationError(
            "The code is not right. Check the app shows this service, and enter the code "
            "it shows now",
            code="invalid",
        )
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=actor.pk)
        if _authenticator(user) is not None:
            raise ValidationError(
                "An authenticator app is already set up for this account", code="exists"
            )
        device = TOTPDevice.objects.create(
            user=user,
            name=AUTHENTICATOR_APP,
            key=key,
            confirmed=True,
            last_t=totp.t(),
            drift=totp.drift,
            last_used_at=now,
        )
        codes = _recovery_codes_issue(user)
    second_factor_log.info("Second factor set up for %s", user.username)
    return device, codes


def recovery_codes_regenerate(*, actor: User, code: str, now: datetime.datetime) -> list[str]:
    """A fresh set of recovery codes for the actor's own account, confirmed with a
    current code from their app; the old set stops working."""
    if not policy.can_set_up_second_factor(actor) or _authenticator(actor) is None:
        raise PermissionDenied
    second_factor_check(user=actor, code=code, app_only=True)
    with transaction.atomic():
        User.objects.select_for_update().get(pk=actor.pk)
        codes = _recovery_codes_issue(actor)
    second_factor_log.info("New recovery codes for %s", actor.username)
    return codes


def _sessions_end(user: User, now: datetime.datetime) -> int:
    """End every session signed in as `user`, or part way through signing in as them.
    (Sessions are in the database; reading each live one is fine at this scale.)"""
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session

    from .second_factor import PENDING_SESSION_KEY

    ended = []
    for session in Session.objects.filter(expire_date__gt=now).iterator():
        data = session.get_decoded()
        pending = data.get(PENDING_SESSION_KEY)
        if data.get(SESSION_KEY) == str(user.pk) or (
            isinstance(pending, dict) and pending.get("user_id") == user.pk
        ):
            ended.append(session.pk)
    return Session.objects.filter(pk__in=ended).delete()[0]


def second_factor_reset(
    *, actor: User, user: User, reason: str, now: datetime.datetime
) -> SecondFactorReset:
    """Someone lost their phone: their app and recovery codes stop working (kept,
    marked unconfirmed), their sessions end, and they set up an app again at their
    next sign-in. Recorded: who, whose, why and when."""
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if not policy.can_reset_second_factor(actor, user):
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Enter why the second factor is being reset"})
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        retired = TOTPDevice.objects.filter(user=user, confirmed=True).update(confirmed=False)
        retired += StaticDevice.objects.filter(user=user, confirmed=True).update(confirmed=False)
        ended = _sessions_end(user, now)
        record = SecondFactorReset(
            user=user,
            reset_by=actor,
            reason=reason,
            reset_at=now,
            devices_retired=retired,
            sessions_ended=ended,
        )
        record._history_user = actor  # type: ignore[attr-defined]
        record.save()
    second_factor_log.warning(
        "Second factor of %s reset by %s (%s devices retired, %s sessions ended)",
        user.username,
        actor.username,
        retired,
        ended,
    )
    return record


# --- API credentials (docs/DECISIONS.md, "API credentials") ------------------------------
#
# Staff tokens: knox's AuthToken holds the digest and the sliding expiry; ApiToken holds
# the name, the owner and the fate. Ending a token deletes knox's row (the credential)
# and marks the ApiToken (the record), which is never deleted.

API_TOKEN_NAME_MAX = 100
REVOKED_BY_OWNER = "Revoked by its owner"
REVOKED_BY_ADMINISTRATOR = "Revoked by an administrator"
REVOKED_PASSWORD_CHANGED = "The owner's password changed"
REVOKED_DEACTIVATED = "The owner's account was deactivated"


def api_token_create(
    *, actor: User, owner: User, name: str, now: datetime.datetime
) -> tuple[ApiToken, str]:
    """Make a token for `owner`; the token itself is returned once and stored nowhere."""
    from knox.models import get_token_model

    from .api_auth import absolute_end, password_check

    if not policy.can_create_api_token(actor, owner):
        raise PermissionDenied("You cannot create an API token for this account")
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Enter a name for the token"})
    if len(name) > API_TOKEN_NAME_MAX:
        raise ValidationError(
            {"name": f"The name must be {API_TOKEN_NAME_MAX} characters or fewer"}
        )
    AuthToken = get_token_model()
    idle = datetime.timedelta(seconds=settings.API_TOKEN_IDLE_SECONDS)
    with transaction.atomic():
        auth_token, token = AuthToken.objects.create(user=owner)
        # Knox stamps its own clock; the service's `now` is the one that counts.
        AuthToken.objects.filter(pk=auth_token.pk).update(created=now, expiry=now + idle)
        record = ApiToken.objects.create(
            auth_token=auth_token,
            user=owner,
            name=name,
            key_start=token[:8],
            created_by=actor,
            created_at=now,
            ends_at=absolute_end(now),
            password_check=password_check(owner),
        )
    return record, token


def api_token_revoke(
    *, actor: User, token: ApiToken, now: datetime.datetime, reason: str = ""
) -> ApiToken:
    """End one token now: its owner, or an account administrator, may."""
    if not policy.can_revoke_api_token(actor, token):
        raise PermissionDenied("You cannot revoke this token")
    if not reason:
        reason = REVOKED_BY_OWNER if actor.pk == token.user_id else REVOKED_BY_ADMINISTRATOR
    with transaction.atomic():
        marked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=actor, revoke_reason=reason[:200]
        )
        if not marked:
            raise ValidationError("This token was already revoked")
        _delete_credentials(ApiToken.objects.filter(pk=token.pk))
    token.refresh_from_db()
    return token


def api_tokens_revoke_all(*, user: User, reason: str, now: datetime.datetime) -> int:
    """End every token of `user` (their password changed, their account was
    deactivated). The system does this, not a person: `revoked_by` stays empty."""
    from knox.models import get_token_model

    with transaction.atomic():
        marked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=now, revoke_reason=reason[:200]
        )
        get_token_model().objects.filter(user=user).delete()
    return marked


def _delete_credentials(records: Any) -> None:
    from knox.models import get_token_model

    digests = list(records.exclude(auth_token=None).values_list("auth_token_id", flat=True))
    if digests:
        get_token_model().objects.filter(pk__in=digests).delete()


# --- Partner systems (OAuth2 client credentials) ------------------------------------------


def partner_client_create(
    *,
    actor: User,
    name: str,
    teams: Iterable[Team],
    scopes: Iterable[str],
    agency: Agency | None = None,
    now: datetime.datetime,
) -> tuple[PartnerClient, str]:
    """Register a partner system. Returns the client and its secret: the secret is
    stored hashed and cannot be shown again."""
    from oauth2_provider.generators import generate_client_secret
    from oauth2_provider.models import get_application_model

    if not policy.can_manage_partner_clients(actor):
        raise PermissionDenied("You cannot register partner systems")
    name = (name or "").strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Enter the partner system's name"
    elif len(name) > 200:
        errors["name"] = "The name must be 200 characters or fewer"
    scope_list = sorted(set(scopes))
    unknown = [scope for scope in scope_list if scope not in settings.PARTNER_SCOPES]
    if not scope_list:
        errors["scopes"] = "Choose at least one scope"
    elif unknown:
        errors["scopes"] = f"Unknown scope: {', '.join(unknown)}"
    team_list = list(teams)
    if not team_list:
        errors["teams"] = "Choose at least one team"
    if errors:
        raise ValidationError(errors)
    Application = get_application_model()
    secret = generate_client_secret()
    with transaction.atomic():
        application = Application(
            name=name[:255],
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            client_secret=secret,  # hashed when saved
            hash_client_secret=True,
            redirect_uris="",
            skip_authorization=False,
        )
        application.save()
        client = PartnerClient(
            application=application,
            name=name,
            agency=agency,
            scopes=" ".join(scope_list),
            created_by=actor,
            created_at=now,
        )
        client._history_user = actor  # type: ignore[attr-defined]
        client.save()
        client.teams.set(team_list)
    return client, secret


def partner_client_deactivate(
    *, actor: User, client: PartnerClient, now: datetime.datetime
) -> PartnerClient:
    """Stop a partner system: no new token, and the tokens it holds end now."""
    from oauth2_provider.models import get_access_token_model

    if not policy.can_manage_partner_clients(actor):
        raise PermissionDenied("You cannot deactivate partner systems")
    with transaction.atomic():
        client = PartnerClient.objects.select_for_update().get(pk=client.pk)
        if not client.active:
            raise ValidationError("This partner system is already inactive")
        client.active = False
        client.deactivated_by = actor
        client.deactivated_at = now
        client._history_user = actor  # type: ignore[attr-defined]
        client.save()
        for access_token in get_access_token_model().objects.filter(
            application_id=client.application_id
        ):
            access_token.revoke()
    return client


def partner_call_record(
    *, client: PartnerClient, request: HttpRequest, status: int, now: datetime.datetime
) -> PartnerCall:
    """One row per partner API call (one insert)."""
    return PartnerCall.objects.create(
        client=client,
        method=request.method[:10] if request.method else "",
        path=request.path[:300],
        status=status,
        at=now,
        ip_address=client_ip(request),
    )

"""R10: lone-worker check-in and check-out, and the alerts when a worker is overdue.

A worker checks in before going into a visit, with the address and the time they expect
to be out. From that time plus a grace period (`due_at`) while they have not checked out,
their buddy and their team's managers are alerted (the first tier); if none of them
acknowledges within LONE_WORKING_SECOND_TIER_MINUTES, the service managers are (the
second tier). Extending moves the times; checking out stops everything.

Two things run the alert check for a check-in, and either is enough: a task sent, once the
check-in (or extension) commits, to run at `due_at`, and the lone-working sweep every
LONE_WORKING_SWEEP_SECONDS, which reads `due_at` through a partial index. A lost task (the
broker down, a worker restarted) therefore delays an alert by one sweep interval at most.
Each tier is decided by a compare-and-swap update of the state: however many checks run
at once, one of them sends it, and notify() writes each recipient's notification once.
"""

import datetime
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts import policy, roles
from accounts.models import User
from accounts.services import Message, notify
from cases.models import Case
from cases.services.base import require_open
from common import sweeps

from .models import LoneWorkingCheckIn, LoneWorkingEvent, Visit

logger = logging.getLogger(__name__)

State = LoneWorkingCheckIn.State
Kind = LoneWorkingEvent.Kind
EXTENSION_MINUTES = (15, 30)
LONGEST_EXPECTED = datetime.timedelta(hours=12)
LONE_WORKING_SWEEP = "lone_working"


def _grace() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.LONE_WORKING_GRACE_MINUTES)


def _second_tier_after() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.LONE_WORKING_SECOND_TIER_MINUTES)


def _event(
    check_in: LoneWorkingCheckIn,
    kind: str,
    now: datetime.datetime,
    actor: User | None = None,
    detail: str = "",
) -> None:
    LoneWorkingEvent.objects.create(
        check_in=check_in, kind=kind, at=now, actor=actor, detail=detail[:2000]
    )


def _locked(check_in: LoneWorkingCheckIn) -> LoneWorkingCheckIn:
    return (
        LoneWorkingCheckIn.objects.select_for_update().select_related("worker").get(pk=check_in.pk)
    )


def visible_check_ins(user: User | None) -> QuerySet[LoneWorkingCheckIn]:
    q = policy.lone_working_visibility_q(user)
    if q is None:
        return LoneWorkingCheckIn.objects.none()
    return LoneWorkingCheckIn.objects.filter(q)


def open_check_in_of(worker: User) -> LoneWorkingCheckIn | None:
    return LoneWorkingCheckIn.objects.filter(worker=worker, checked_out_at__isnull=True).first()


# --- What the worker does -----------------------------------------------------------------


def lone_working_check_in(
    *,
    actor: User,
    case: Case,
    address: str,
    expected_end: datetime.datetime,
    now: datetime.datetime,
    visit: Visit | None = None,
    buddy: User | None = None,
) -> LoneWorkingCheckIn:
    """Check `actor` in at `address` on `case` until `expected_end`. The buddy is the one
    given, or else the visit's joint worker from the same team, or nobody (the team's
    managers are alerted all the same)."""
    if not policy.can_check_in(actor, case):
        raise PermissionDenied("You cannot check in on this case")
    require_open(case, "checking in to visit it")
    address = (address or "").strip()
    errors: dict[str, str] = {}
    if not address:
        errors["address"] = "Enter the address you are going to"
    elif len(address) > 500:
        errors["address"] = "The address must be 500 characters or fewer"
    if expected_end <= now:
        errors["expected_end"] = "The time you expect to be out must be in the future"
    elif expected_end - now > LONGEST_EXPECTED:
        errors["expected_end"] = "The time you expect to be out must be within 12 hours"
    if visit is not None and visit.case_id != case.pk:
        errors["visit"] = "This visit is not on this case"
    if buddy is None and visit is not None and visit.joint_worker_id is not None:
        joint = visit.joint_worker
        buddy = joint if policy.can_be_lone_working_buddy(joint, actor) else None
    elif buddy is not None and not policy.can_be_lone_working_buddy(buddy, actor):
        errors["buddy"] = "Choose an active colleague from your team as your buddy"
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            check_in = LoneWorkingCheckIn(
                worker=actor,
                case=case,
                visit=visit,
                buddy=buddy,
                address=address,
                checked_in_at=now,
                expected_end_at=expected_end,
                due_at=expected_end + _grace(),
            )
            check_in._history_user = actor  # type: ignore[attr-defined]
            check_in.save()
            _event(check_in, Kind.CHECK_IN, now, actor, f"Expected out by {_hhmm(expected_end)}")
    except IntegrityError as exc:
        raise ValidationError(
            "You are already checked in somewhere: check out of it first"
        ) from exc
    _schedule_after_commit(check_in.pk, check_in.due_at)
    return check_in


@transaction.atomic
def lone_working_extend(
    *, actor: User, check_in: LoneWorkingCheckIn, minutes: int, now: datetime.datetime
) -> LoneWorkingCheckIn:
    """Move the expected end `minutes` (15 or 30) past the later of it and now. An alert
    already sent is over: those alerted are told the worker extended."""
    check_in = _locked(check_in)
    if not policy.can_change_lone_working(actor, check_in):
        raise PermissionDenied("Only the worker who checked in can extend")
    if minutes not in EXTENSION_MINUTES:
        raise ValidationError("Extend by 15 or 30 minutes")
    if not check_in.is_open:
        raise ValidationError("You have already checked out")
    was_alerted = check_in.first_alert_at is not None
    was_escalated = check_in.second_alert_at is not None
    check_in.expected_end_at = max(check_in.expected_end_at, now) + datetime.timedelta(
        minutes=minutes
    )
    check_in.due_at = check_in.expected_end_at + _grace()
    check_in.state = State.IN
    check_in.first_alert_at = check_in.second_alert_at = None
    check_in.acknowledged_at, check_in.acknowledged_by, check_in.acknowledged_action = (
        None,
        None,
        "",
    )
    check_in._history_user = actor  # type: ignore[attr-defined]
    check_in.save()
    _event(
        check_in,
        Kind.EXTENSION,
        now,
        actor,
        f"{minutes} minutes: out by {_hhmm(check_in.expected_end_at)}",
    )
    if was_alerted:
        _tell_all_clear(check_in, now, "extended their time", escalated=was_escalated)
    _schedule_after_commit(check_in.pk, check_in.due_at)
    return check_in


@transaction.atomic
def lone_working_check_out(
    *, actor: User, check_in: LoneWorkingCheckIn, now: datetime.datetime
) -> LoneWorkingCheckIn:
    """The worker is out and safe: no alert is sent after this; those already alerted
    are told."""
    check_in = _locked(check_in)
    if not policy.can_change_lone_working(actor, check_in):
        raise PermissionDenied("Only the worker who checked in can check out")
    if not check_in.is_open:
        raise ValidationError("You have already checked out")
    was_alerted = check_in.first_alert_at is not None
    check_in.state, check_in.checked_out_at = State.OUT, now
    check_in._history_user = actor  # type: ignore[attr-defined]
    check_in.save()
    _event(check_in, Kind.CHECK_OUT, now, actor)
    if was_alerted:
        _tell_all_clear(
            check_in, now, "checked out safe", escalated=check_in.second_alert_at is not None
        )
    return check_in


# --- What those alerted do ----------------------------------------------------------------


@transaction.atomic
def lone_working_acknowledge(
    *, actor: User, check_in: LoneWorkingCheckIn, action: str, now: datetime.datetime
) -> LoneWorkingCheckIn:
    """Someone alerted says what they did (called the worker, went there, called the
    police): the second tier is not alerted after this."""
    check_in = _locked(check_in)
    if not policy.can_acknowledge_lone_working(actor, check_in):
        raise PermissionDenied("You cannot acknowledge this alert")
    action = (action or "").strip()
    if not action:
        raise ValidationError({"action": "Say what you did"})
    if len(action) > 2000:
        raise ValidationError({"action": "What you did must be 2000 characters or fewer"})
    if check_in.state not in (State.ALERTED, State.ESCALATED):
        raise ValidationError("There is no alert to acknowledge")
    check_in.state = State.ACKNOWLEDGED
    check_in.acknowledged_at, check_in.acknowledged_by = now, actor
    check_in.acknowledged_action = action
    check_in._history_user = actor  # type: ignore[attr-defined]
    check_in.save()
    _event(check_in, Kind.ACKNOWLEDGEMENT, now, actor, action)
    return check_in


# --- Alerts -------------------------------------------------------------------------------


def first_tier(check_in: LoneWorkingCheckIn) -> list[User]:
    """The buddy and the worker's team managers; if there is none of them, the service
    managers, so that someone hears."""
    people = [] if check_in.buddy is None else [check_in.buddy]
    worker = check_in.worker
    if worker.team_id is not None:
        people += User.objects.filter(
            is_active=True, team_id=worker.team_id, groups__name=roles.TEAM_MANAGER
        ).distinct()
    people = [u for u in people if u.pk != worker.pk and u.is_active]
    return _unique(people) or second_tier(check_in)


def second_tier(check_in: LoneWorkingCheckIn) -> list[User]:
    return [
        u
        for u in User.objects.filter(is_active=True, groups__name=roles.SERVICE_MANAGER)
        .distinct()
        .order_by("pk")
        if u.pk != check_in.worker_id
    ]


def _unique(users: list[User]) -> list[User]:
    return list({u.pk: u for u in users}.values())


def _hhmm(moment: datetime.datetime) -> str:
    return f"{timezone.localtime(moment):%H:%M}"


def _message(check_in: LoneWorkingCheckIn, tier: str, recipients: list[User]) -> Message:
    """Emails carry the worker's name, the case reference and the times, never the
    address or anything else typed: the address is on the page the link opens."""
    worker = check_in.worker.get_full_name() or check_in.worker.username
    ref = check_in.case.reference
    since = _hhmm(check_in.expected_end_at)
    if tier == "first":
        subject = f"Lone worker overdue: {worker} ({ref})"
        body = (
            f"{worker} checked in for a visit on {ref} at {_hhmm(check_in.checked_in_at)} "
            f"and expected to be out by {since}. They have not checked out. Try to reach "
            "them now, then acknowledge the alert with what you did."
        )
    else:
        subject = f"Lone worker still overdue, not acknowledged: {worker} ({ref})"
        body = (
            f"{worker} expected to be out of a visit on {ref} by {since} and has not "
            f"checked out. Their buddy and team managers were alerted at "
            f"{_hhmm(check_in.first_alert_at or check_in.due_at)} and nobody has "
            "acknowledged. Act now under the lone working procedure, then acknowledge."
        )
    stamp = int(check_in.due_at.timestamp())  # an extension makes a new event
    return Message(
        recipients=recipients,
        event_key=f"lone-working:{check_in.pk}:{tier}:{stamp}",
        subject=subject,
        body=body,
        link=f"/cases/lone-working/{check_in.pk}/",
        case_id=check_in.case_id,
        case_reference=ref,
    )


def _tell_all_clear(
    check_in: LoneWorkingCheckIn, now: datetime.datetime, what: str, *, escalated: bool
) -> None:
    worker = check_in.worker.get_full_name() or check_in.worker.username
    recipients = first_tier(check_in)
    if escalated:
        recipients = _unique([*recipients, *second_tier(check_in)])
    notify(
        [
            Message(
                recipients=recipients,
                event_key=f"lone-working:{check_in.pk}:clear:{int(now.timestamp())}",
                subject=f"Lone worker alert over: {worker} ({check_in.case.reference})",
                body=f"{worker} {what} at {_hhmm(now)}.",
                link=f"/cases/lone-working/{check_in.pk}/",
                case_id=check_in.case_id,
                case_reference=check_in.case.reference,
            )
        ],
        now=now,
    )


def lone_working_alert(check_in_id: int, *, now: datetime.datetime) -> str | None:
    """Send whichever alert is due for this check-in at `now`: "first", "second" or None.
    Safe to run any number of times, concurrently: the compare-and-swap update decides
    who sends, in the transaction that writes the notifications."""
    rows = LoneWorkingCheckIn.objects.filter(pk=check_in_id, checked_out_at__isnull=True)
    with transaction.atomic():
        if rows.filter(state=State.IN, due_at__lte=now).update(
            state=State.ALERTED, first_alert_at=now
        ):
            check_in = _after_swap(check_in_id, Kind.FIRST_ALERT, now)
            notify([_message(check_in, "first", first_tier(check_in))], now=now)
            _schedule_after_commit(check_in.pk, now + _second_tier_after())
            return "first"
        if rows.filter(state=State.ALERTED, first_alert_at__lte=now - _second_tier_after()).update(
            state=State.ESCALATED, second_alert_at=now
        ):
            check_in = _after_swap(check_in_id, Kind.SECOND_ALERT, now)
            notify([_message(check_in, "second", second_tier(check_in))], now=now)
            return "second"
    return None


def _after_swap(check_in_id: int, kind: str, now: datetime.datetime) -> LoneWorkingCheckIn:
    check_in = LoneWorkingCheckIn.objects.select_related("worker", "case", "buddy").get(
        pk=check_in_id
    )
    check_in.save()  # the row is ours (locked by the update): keeps the change in history
    _event(check_in, kind, now)
    return check_in


def lone_working_alerts_due(*, now: datetime.datetime | None = None) -> dict:
    """The lone-working sweep: every open check-in past its due time that still has an
    alert to send, each on its own (`common.sweeps`)."""
    now = now or timezone.now()

    def work() -> dict:
        ids = list(
            LoneWorkingCheckIn.objects.filter(
                checked_out_at__isnull=True,
                due_at__lte=now,
                state__in=[State.IN, State.ALERTED],
            )
            .order_by("due_at")
            .values_list("pk", flat=True)
        )
        sent: list[str] = []

        def check(check_in_id: int) -> None:
            tier = lone_working_alert(check_in_id, now=now)
            if tier:
                sent.append(tier)

        done, failed = sweeps.each(LONE_WORKING_SWEEP, ids, check, now=now)
        return {
            "checked": len(done),
            "first": sent.count("first"),
            "second": sent.count("second"),
            "failed": len(failed),
        }

    return sweeps.run(LONE_WORKING_SWEEP, work, now=now)


def _schedule_after_commit(check_in_id: int, at: datetime.datetime) -> None:
    transaction.on_commit(lambda: _schedule(check_in_id, at))


def _schedule(check_in_id: int, at: datetime.datetime) -> None:
    """Ask a worker to check this check-in at `at`. Never fails the caller: with the
    broker out of reach the sweep does it, at most one interval later."""
    from .tasks import lone_working_check

    try:
        lone_working_check.apply_async((check_in_id,), eta=at)
    except Exception as error:
        logger.warning(
            "could not schedule the lone-working check of %s (%s: %s); the sweep will do it",
            check_in_id,
            type(error).__name__,
            error,
        )

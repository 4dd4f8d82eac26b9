"""The escalation engine (R1-R4): opening, cancelling and recomputing escalations,
who hears of them and what they are told, and the sweep that keeps them right."""

import datetime
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import policy, roles
from accounts.models import User
from accounts.services import Message, notify
from common import sweeps
from common.concurrency import check_version, version_of

from .. import rules, signals
from ..models import Case, Escalation, Meeting
from ..queries import case_has_child_on_plan as queries_case_has_child_on_plan
from .base import _acting, _assign, _because, _not_future, _require_open, _save, _today

logger = logging.getLogger(__name__)

# --- Meetings and escalations -----------------------------------------------------------


def _escalation_recipients(
    case: Case, *, overdue: bool = False, managers_only: bool = False
) -> list[User]:
    """Who hears about an escalation: the allocated workers and the team's managers;
    once overdue, the team's managers and the service managers; when its trigger is
    withdrawn (`managers_only`), the team's managers, who decide. On a restricted case
    only those named on it; if none of the usual people is named, the named people, so
    that someone who may see it is told."""
    return _escalation_recipients_by_case([case], overdue=overdue, managers_only=managers_only)[
        case.pk
    ]


def _escalation_recipients_by_case(
    cases: Iterable[Case], *, overdue: bool = False, managers_only: bool = False
) -> dict[int, list[User]]:
    """`_escalation_recipients` for many cases at once, in a few queries whatever their
    number: {case id: [users]}."""
    cases = list({case.pk: case for case in cases}.values())
    managers: dict[int | None, list[User]] = {}
    for user in User.objects.filter(
        is_active=True, groups__name=roles.TEAM_MANAGER, team_id__in={c.team_id for c in cases}
    ).distinct():
        managers.setdefault(user.team_id, []).append(user)
    service = (
        list(User.objects.filter(is_active=True, groups__name=roles.SERVICE_MANAGER).distinct())
        if overdue
        else []
    )

    # `through` is a many-to-many table Django made (Case.allocated_workers.through).
    def users_by_case(through: Any, case_ids: list[int]) -> dict[int, list[User]]:
        found: dict[int, list[User]] = {}
        if case_ids:
            for row in through.objects.filter(
                case_id__in=case_ids, user__is_active=True
            ).select_related("user"):
                found.setdefault(row.case_id, []).append(row.user)
        return found

    workers = (
        {}
        if overdue or managers_only
        else users_by_case(Case.allocated_workers.through, [c.pk for c in cases])
    )
    named = users_by_case(Case.restricted_to.through, [c.pk for c in cases if c.restricted])
    result: dict[int, list[User]] = {}
    for case in cases:
        team = managers.get(case.team_id, [])
        people = [*team, *service] if overdue else [*workers.get(case.pk, []), *team]
        if case.restricted:
            allowed = {u.pk for u in named.get(case.pk, [])}
            people = [u for u in people if u.pk in allowed] or named.get(case.pk, [])
        result[case.pk] = list({u.pk: u for u in people}.values())
    return result


def _escalation_message(
    escalation: Escalation,
    event: str,
    recipients: list[User] | None = None,
    now: datetime.datetime | None = None,
) -> Message:
    """What the people who hear of an escalation are told when it fires, the working day
    before its deadline ("reminder"), once it is overdue, and when its trigger is
    withdrawn ("withdrawn", to the team's managers, who decide).

    Messages are also sent by email, which carries the case reference and what is due,
    never what a person typed: the concern and the rule's reason are on the case page."""
    case = escalation.case
    meeting = escalation.get_required_meeting_display().lower()
    due = f"{escalation.due_date:%A %d %B %Y}"
    fired_on = f"{escalation.trigger_date:%d %B %Y}"
    if escalation.kind == Escalation.Kind.DEFAULTED_VISITS:
        what = f"{escalation.trigger_count or 'Too many'} defaulted visits"
    else:
        what = "A non-compliance concern raised by hand"
    withdrawn = (
        f" Its trigger was withdrawn on {escalation.trigger_withdrawn_at:%d %B %Y}: a "
        "manager keeps it or cancels it."
        if escalation.awaits_decision and escalation.trigger_withdrawn_at is not None
        else ""
    )
    texts = {
        "fired": (
            f"Escalation on {case.reference}: {meeting} due by {due}",
            f"{what} on {case.reference} fired an escalation on {fired_on}. A {meeting} "
            f"must be held by the end of {due} ({escalation.working_days} working days). "
            "The details are on the case.",
        ),
        "reminder": (
            f"Reminder: {meeting} for {case.reference} is due tomorrow",
            f"The {meeting} for {case.reference} is due by the end of {due} and has "
            f"not been recorded yet.{withdrawn}",
        ),
        "overdue": (
            f"Overdue: {meeting} for {case.reference} was due {due}",
            f"No {meeting} was recorded for {case.reference} by the end of {due}. "
            f"The escalation fired on {fired_on}.{withdrawn}",
        ),
        "withdrawn": (
            f"Escalation on {case.reference}: its trigger was withdrawn",
            f"A defaulted visit behind the escalation that fired on {case.reference} on "
            f"{fired_on} was recorded in error or recorded again as something else: "
            f"{escalation.trigger_withdrawn_count or 0} defaulted visits now count, not "
            f"more than {settings.DEFAULTED_VISITS_THRESHOLD}. Decide on the case whether "
            f"to keep the escalation, with a reason, or cancel it. The {meeting} is due by "
            f"the end of {due} while it stands.",
        ),
    }
    subject, body = texts[event]
    if recipients is None:
        recipients = _escalation_recipients(
            case, overdue=event == "overdue", managers_only=event == "withdrawn"
        )
    key = f"escalation:{escalation.pk}:{event}"
    if event == "withdrawn" and now is not None:
        key += f":{int(now.timestamp())}"  # a trigger withdrawn again is a new event
    return Message(
        recipients=recipients,
        event_key=key,
        subject=subject,
        body=body,
        link=f"/cases/{case.pk}/",
        case_id=case.pk,
        case_reference=case.reference,
    )


def _meeting_that_meets(escalation: Escalation) -> Meeting | None:
    """The first meeting recorded (not in error) that meets this escalation, if any."""
    return next(
        (
            m
            for m in Meeting.objects.filter(
                case_id=escalation.case_id,
                kind=escalation.required_meeting,
                in_error=False,
                held_on__gte=escalation.trigger_date,
            ).order_by("held_on", "id")
            if rules.meeting_outcome(escalation, m)
        ),
        None,
    )


@transaction.atomic
def escalation_open(
    *,
    case: Case,
    kind: str,
    trigger_date: datetime.date,
    reason: str,
    actor: User | None = None,
    trigger_count: int | None = None,
    now: datetime.datetime | None = None,
) -> Escalation | None:
    """Start the clock (R1-R3). Returns None if one of this kind is already active.
    Recorded late, after a meeting of the kind it asks for was held on or after its
    trigger date, it is met (or met late) by that meeting at once and nobody is told.

    Whether a child is on a plan on the trigger date picks the meeting and the
    deadline; both are fixed on the escalation. Safe under concurrency: the
    database allows one active escalation per case and kind. The escalation and its
    notifications are written in one transaction: nothing fires without being heard.
    """
    now = now or timezone.now()
    if kind == Escalation.Kind.NON_COMPLIANCE:
        if actor is None or not policy.can_raise_escalation(actor, case):
            raise PermissionDenied(
                "Only a worker or manager who can see the case can raise an escalation"
            )
        if not reason.strip():
            raise ValidationError({"reason": "Enter the non-compliance concern"})
        _not_future(trigger_date, now, "trigger_date", "The date of the concern")
    _require_open(case, "raising an escalation")
    on_plan = queries_case_has_child_on_plan(case.pk, trigger_date)
    days = rules.deadline_working_days(on_plan)
    escalation = Escalation(
        case=case,
        kind=kind,
        trigger_date=trigger_date,
        child_on_plan=on_plan,
        required_meeting=rules.required_meeting(on_plan),
        working_days=days,
        due_date=rules.due_date(trigger_date, days),
        reason=reason.strip(),
        trigger_count=trigger_count,
        raised_by=actor,
        created_at=now,
    )
    # Recorded late, it may fire after the meeting it asks for was held: then it is met
    # (or met late) at once, and nobody is asked for a meeting already held.
    met = _meeting_that_meets(escalation)
    if met is not None:
        escalation.state = rules.meeting_outcome(escalation, met) or Escalation.State.MET
        escalation.met_by, escalation.met_on, escalation.closed_at = met, met.held_on, now
    else:
        escalation.state = rules.state_on(escalation, timezone.localdate(now))
    if escalation.state == Escalation.State.OVERDUE:
        escalation.overdue_at = now  # fired already past its deadline (recorded late)
    try:
        with transaction.atomic():
            _acting(escalation, actor)
            escalation.save()
    except IntegrityError:
        return None  # another evaluation got there first
    events = []
    if escalation.is_active:
        events = ["fired"] + (["overdue"] if escalation.state == Escalation.State.OVERDUE else [])
    notify([_escalation_message(escalation, event) for event in events], now=now)
    signals.escalation_changed.send(sender=Escalation, escalation=escalation, actor=actor, now=now)
    return escalation


@transaction.atomic
def escalation_cancel(
    *, actor: User, escalation: Escalation, reason: str, now: datetime.datetime | None = None
) -> Escalation:
    now = now or timezone.now()
    if not policy.can_cancel_escalation(actor, escalation):
        raise PermissionDenied("Only a manager can cancel an escalation")
    if not reason.strip():
        raise ValidationError({"reason": "Enter why the escalation is being cancelled"})
    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if not escalation.is_active:
        state = escalation.get_state_display().lower()
        raise ValidationError(f"This escalation is already {state}")
    escalation.state = Escalation.State.CANCELLED
    escalation.cancelled_by = actor
    escalation.cancelled_reason = reason.strip()
    escalation.closed_at = now
    _acting(escalation, actor)
    escalation.save()
    signals.escalation_changed.send(sender=Escalation, escalation=escalation, actor=actor, now=now)
    return escalation


def escalation_trigger_withdrawn(
    *, escalation: Escalation, count: int, now: datetime.datetime
) -> Escalation:
    """The defaulted visits behind an active escalation fell to the threshold or below
    (one was marked in error or recorded again as something else). It stays active,
    marked withdrawn with the count now, and the team's managers are told once, to keep
    it or cancel it. The rule's own write (no actor); the caller holds the case's
    evaluation lock. Already withdrawn: nothing changes."""
    escalation = Escalation.objects.select_for_update().select_related("case").get(pk=escalation.pk)
    if not escalation.is_active or escalation.trigger_withdrawn_at is not None:
        return escalation
    escalation.trigger_withdrawn_at = now
    escalation.trigger_withdrawn_count = count
    _because(escalation, f"Its trigger was withdrawn: {count} defaulted visits now count")
    _acting(escalation, None)
    escalation.save()
    notify([_escalation_message(escalation, "withdrawn", now=now)], now=now)
    signals.escalation_changed.send(sender=Escalation, escalation=escalation, actor=None, now=now)
    return escalation


def escalation_trigger_restored(*, escalation: Escalation, now: datetime.datetime) -> Escalation:
    """Defaults recorded since bring the count above the threshold again: the escalation
    stands on its own trigger as before, and any decision to keep it is spent."""
    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if escalation.trigger_withdrawn_at is None:
        return escalation
    escalation.trigger_withdrawn_at = None
    escalation.trigger_withdrawn_count = None
    escalation.kept_at, escalation.kept_by, escalation.kept_reason = None, None, ""
    _because(escalation, "Its trigger stands again: more defaulted visits were recorded")
    _acting(escalation, None)
    escalation.save()
    signals.escalation_changed.send(sender=Escalation, escalation=escalation, actor=None, now=now)
    return escalation


@transaction.atomic
def escalation_keep(
    *, actor: User, escalation: Escalation, reason: str, now: datetime.datetime | None = None
) -> Escalation:
    """A manager keeps an escalation whose trigger was withdrawn, saying why: it goes
    on as before, to be met by its meeting. (Cancelling it is `escalation_cancel`.)"""
    now = now or timezone.now()
    escalation = Escalation.objects.select_for_update().select_related("case").get(pk=escalation.pk)
    if not policy.can_decide_withdrawn_trigger(actor, escalation):
        if escalation.is_active and not escalation.awaits_decision:
            raise ValidationError(
                "There is nothing to decide: this escalation's trigger stands, or a manager "
                "has already kept it"
            )
        raise PermissionDenied(
            "Only a manager who may see the case decides on an escalation whose trigger "
            "was withdrawn, while it is open or overdue"
        )
    if not reason.strip():
        raise ValidationError({"reason": "Enter why the escalation is being kept"})
    escalation.kept_at, escalation.kept_by, escalation.kept_reason = now, actor, reason.strip()
    _acting(escalation, actor)
    escalation.save()
    signals.escalation_changed.send(sender=Escalation, escalation=escalation, actor=actor, now=now)
    return escalation


def escalation_version(escalation: Escalation) -> str:
    """The version of an escalation that its edit form starts from."""
    return version_of(escalation)


@transaction.atomic
def escalation_update(
    *,
    actor: User,
    escalation: Escalation,
    reason: str,
    version: str | None = None,
    now: datetime.datetime | None = None,
) -> Escalation:
    """Correct the concern written on an open or overdue non-compliance escalation
    (`policy.can_edit_escalation`). Its dates and the meeting it asks for follow from
    the day it was raised and stay. Nothing changed, nothing saved."""
    now = now or timezone.now()
    if not policy.can_edit_escalation(actor, escalation):
        raise PermissionDenied(
            "Only the concern of an open or overdue non-compliance escalation can be "
            "changed, by a worker or manager who can see the case"
        )
    _require_open(escalation.case, "correcting an escalation's concern")
    escalation = Escalation.objects.select_for_update().get(pk=escalation.pk)
    check_version(version, [escalation], what="this escalation")
    if not escalation.is_active:
        state = escalation.get_state_display().lower()
        raise ValidationError(f"This escalation is already {state}: it stands as it closed")
    if not _assign(escalation, reason=reason.strip()):
        return escalation
    if not escalation.reason:
        raise ValidationError({"reason": "Enter the non-compliance concern"})
    _save(escalation, actor)
    signals.record_corrected.send(sender=Escalation, instance=escalation, actor=actor, now=now)
    return escalation


def escalation_refresh(
    escalation_id: int, *, now: datetime.datetime | None = None
) -> Escalation | None:
    """Recompute one active escalation from its dates and meetings, not from its stored
    state: a closure day added since it fired moves the deadline; a meeting that meets
    it closes it; a passed deadline makes it overdue (notifying managers once); the
    working day before the deadline queues a reminder once.

    Runs under a row lock taken with SKIP LOCKED, so two sweeps never work on the same
    escalation; notifications are rows, sent after commit.
    """
    refreshed = escalations_refresh([escalation_id], now=now)
    return refreshed[0][0] if refreshed else None


def escalations_refresh(
    ids: Iterable[int], *, now: datetime.datetime | None = None
) -> list[tuple[Escalation, str]]:
    """`escalation_refresh` for many escalations at once, in statements whose number does
    not grow with theirs: one statement locks them (SKIP LOCKED: rows another sweep
    holds are left to it), one reads the meetings that could meet them, deadlines are
    worked out once per trigger date, the changed rows are written (with their history)
    in one statement, the recipients of their notifications read once per event, the
    notifications of every one gone overdue or reminded written in one statement, and
    those gone overdue are announced together (`escalations_changed`).

    Returns each escalation this call held the lock on, with its state before."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    with transaction.atomic():
        rows = list(
            Escalation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("case")
            .filter(pk__in=list(ids), state__in=Escalation.ACTIVE_STATES)
            .order_by("pk")
        )
        if not rows:
            return []
        before = [(escalation, escalation.state) for escalation in rows]
        meetings: dict[tuple[int, str], list[Meeting]] = {}
        for meeting in Meeting.objects.filter(
            case_id__in={e.case_id for e in rows},
            in_error=False,
            held_on__gte=min(e.trigger_date for e in rows),
        ).order_by("held_on", "id"):
            meetings.setdefault((meeting.case_id, meeting.kind), []).append(meeting)
        deadlines: dict[tuple[datetime.date, int], datetime.date] = {}
        reminder_days: dict[tuple[str, datetime.date], bool] = {}
        to_save: list[Escalation] = []
        overdue: list[Escalation] = []
        reminders: list[Escalation] = []
        for escalation in rows:
            key = (escalation.trigger_date, escalation.working_days)
            if key not in deadlines:
                deadlines[key] = rules.due_date(*key)
            changed = False
            if deadlines[key] != escalation.due_date:
                escalation.due_date, changed = deadlines[key], True
            meets = next(
                (
                    m
                    for m in meetings.get((escalation.case_id, escalation.required_meeting), ())
                    if rules.meeting_outcome(escalation, m)
                ),
                None,
            )
            if meets is not None:
                _close_met(escalation, meets, now)
                continue
            state = rules.state_on(escalation, today)
            if state != escalation.state:
                if state == Escalation.State.OVERDUE:
                    escalation.overdue_at = now
                    overdue.append(escalation)
                escalation.state, changed = state, True
            # The rule reads the calendar; it depends on the state and deadline only.
            reminder_key = (escalation.state, escalation.due_date)
            if reminder_key not in reminder_days:
                reminder_days[reminder_key] = rules.is_reminder_day(escalation, today)
            if reminder_days[reminder_key] and escalation.reminder_queued_at is None:
                escalation.reminder_queued_at, changed = now, True
                reminders.append(escalation)
            if changed:
                to_save.append(escalation)
        if to_save:
            from simple_history.utils import bulk_update_with_history

            bulk_update_with_history(
                to_save,
                Escalation,
                ["due_date", "state", "overdue_at", "reminder_queued_at"],
                default_user=None,
            )
        messages = []
        for event, escalations in (("overdue", overdue), ("reminder", reminders)):
            if escalations:
                people = _escalation_recipients_by_case(
                    [e.case for e in escalations], overdue=event == "overdue"
                )
                messages += [_escalation_message(e, event, people[e.case_id]) for e in escalations]
        notify(messages, now=now)
        if overdue:
            signals.escalations_changed.send(
                sender=Escalation, escalations=overdue, actor=None, now=now
            )
    return before


def _close_met(
    escalation: Escalation,
    meeting: Meeting,
    now: datetime.datetime,
    actor: User | None = None,
) -> None:
    outcome = rules.meeting_outcome(escalation, meeting)
    if outcome is None:
        raise ValueError(f"The {meeting} does not meet escalation {escalation.pk}")
    escalation.state = outcome
    escalation.met_by = meeting
    escalation.met_on = meeting.held_on
    escalation.closed_at = now
    _acting(escalation, actor)
    escalation.save()
    signals.escalation_changed.send(sender=Escalation, escalation=escalation, actor=actor, now=now)


UNMET_REASON = "Meeting recorded in error"


def _escalations_unmet(meeting: Meeting, *, actor: User, now: datetime.datetime) -> None:
    """The escalations `meeting` met were not met by it after all. Each is met by the
    first other meeting of its kind held on or after the day it fired, if there is one
    (`rules.meeting_outcome`); otherwise it is active again, open or overdue by its
    dates (`rules.state_on`), and its people are told if that makes it overdue.

    Only one escalation of a kind may be active on a case: if a newer one of the same
    kind is active, that one carries the concern on, and the old one is closed as
    cancelled with the reason, by the person who marked the meeting. Each change is
    saved with its history by `actor` and announced (`escalation_changed`)."""
    today = _today(now)
    for escalation in (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("case")
        .filter(met_by=meeting)
        .order_by("pk")
    ):
        escalation.due_date = rules.due_date(escalation.trigger_date, escalation.working_days)
        other = _meeting_that_meets(escalation)
        _because(escalation, UNMET_REASON)
        if other is not None:
            _because(escalation, f"{UNMET_REASON}; met by the {other}")
            _close_met(escalation, other, now, actor=actor)
            continue
        escalation.met_by = None
        escalation.met_on = None
        escalation.closed_at = None
        newer = (
            Escalation.objects.filter(
                case_id=escalation.case_id, kind=escalation.kind, state__in=Escalation.ACTIVE_STATES
            )
            .exclude(pk=escalation.pk)
            .first()
        )
        events = []
        if newer is not None:
            escalation.state = Escalation.State.CANCELLED
            escalation.cancelled_by = actor
            escalation.cancelled_reason = (
                f"{UNMET_REASON} ({meeting}: {meeting.in_error_reason}). The escalation "
                f"due {newer.due_date:%d/%m/%Y} is active for the same concern."
            )
            escalation.closed_at = now
        else:
            escalation.state = Escalation.State.OPEN
            escalation.state = rules.state_on(escalation, today)
            if escalation.state == Escalation.State.OVERDUE and escalation.overdue_at is None:
                escalation.overdue_at = now
                events.append("overdue")
        _acting(escalation, actor)
        escalation.save()
        notify([_escalation_message(escalation, event) for event in events], now=now)
        signals.escalation_changed.send(
            sender=Escalation, escalation=escalation, actor=actor, now=now
        )


SWEEP_BATCH = 200  # escalations locked and recomputed together, in one transaction
SWEEP_NAME = "escalations"


def escalations_sweep(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Every active escalation due within the next few days or already past due, found
    by the partial index on the stored deadline, is recomputed from its dates, a batch
    at a time (`escalations_refresh`). The window is wide enough to catch reminders
    before a long bank-holiday weekend.

    One escalation that raises stops nothing: a batch that fails is done again one
    escalation at a time, and the one that fails is logged and set aside to be tried
    again later (`common.sweeps`), while the rest go on. Each run is recorded for the
    health check. Sending email is the send task's job (accounts.tasks), not the
    sweep's."""
    now = now or timezone.now()

    def work() -> dict[str, int]:
        today = timezone.localdate(now)
        horizon = today + datetime.timedelta(days=14)
        later = sweeps.waiting(SWEEP_NAME, now)
        ids = [
            pk
            for pk in Escalation.objects.filter(
                state__in=Escalation.ACTIVE_STATES, due_date__lte=horizon
            )
            .order_by("due_date", "id")
            .values_list("pk", flat=True)
            if pk not in later
        ]
        changed = failed = 0
        for start in range(0, len(ids), SWEEP_BATCH):
            batch = ids[start : start + SWEEP_BATCH]
            try:
                refreshed = escalations_refresh(batch, now=now)
            except Exception:
                logger.exception("escalations sweep: a batch failed; trying each on its own")
                refreshed = []

                def one(pk: int, into: list[tuple[Escalation, str]] = refreshed) -> None:
                    into.extend(escalations_refresh([pk], now=now))

                done, bad = sweeps.each(SWEEP_NAME, batch, one, now=now)
                failed += len(bad)
            else:
                sweeps.cleared(SWEEP_NAME, batch, now)
            changed += sum(1 for escalation, before in refreshed if escalation.state != before)
        return {"checked": len(ids), "changed": changed, "failed": failed}

    return sweeps.run(SWEEP_NAME, work, now=now)

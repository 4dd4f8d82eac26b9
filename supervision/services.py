"""Writes to supervision records. Each takes the acting user as `actor` and keeps history.

A session is planned, then held or cancelled (never deleted: a cancellation needs a
reason and a new date, and is counted). The supervisor records it and signs it off;
after sign-off a change needs a reason, written as an Amendment and kept on the
history rows. Decisions and actions belong to a case discussed in the session.

Edits start from what is stored: each `<thing>_update` takes the version its form was
filled from (`<thing>_version`), refuses to save over a newer one, and saves only the
fields that changed. Submitted unchanged, it writes nothing (no history row, and after
sign-off no reason is asked for and no Amendment written).
"""

import datetime
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from accounts import policy
from accounts.models import User
from cases.models import Case
from cases.services.base import require_open
from common.concurrency import check_version, version_of
from common.records import assign, save

from . import signals
from .models import (
    QUESTION_FIELDS,
    Action,
    Amendment,
    CaseDiscussion,
    Decision,
    SupervisionSession,
)

SESSION_FIELDS = (
    "most_worried_case",
    "most_worried_why",
    "least_worried_case",
    "least_worried_why",
    "wellbeing_impact",
    "wellbeing_support",
)


M = TypeVar("M", bound=Model)


def _save(obj: M, actor: User, reason: str = "") -> M:
    return save(obj, actor, reason=reason)


def _today(now: datetime.datetime) -> datetime.date:
    return timezone.localdate(now)


def _lock(session: SupervisionSession) -> SupervisionSession:
    return SupervisionSession.objects.select_for_update().get(pk=session.pk)


def _require_recorder(actor: User, session: SupervisionSession) -> None:
    if not policy.can_record_session(actor, session):
        raise PermissionDenied("Only the supervisor or a manager can change this record")


def _require_discussion_recorder(actor: User, discussion: CaseDiscussion) -> None:
    if not policy.can_edit_discussion(actor, discussion):
        raise PermissionDenied(
            "Only the supervisor or a manager who can see the case can change this record"
        )
    require_open(discussion.case, "changing what supervision recorded about it")


def _amend(
    *,
    actor: User,
    session: SupervisionSession,
    what: str,
    reason: str,
    now: datetime.datetime,
) -> str:
    """After sign-off, a change needs a reason; returns it for the history row."""
    if not session.is_signed_off:
        return ""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": "This record is signed off: enter why you are changing it"}
        )
    amendment = Amendment(session=session, what=what[:200], reason=reason, at=now, by=actor)
    _save(amendment, actor)
    return f"After sign-off: {reason}"


# --- Sessions -------------------------------------------------------------------------


@transaction.atomic
def session_create(
    *,
    actor: User,
    supervisee: User | None,
    date: datetime.date,
    kind: str = "formal",
    supervisor: User | None = None,
    now: datetime.datetime | None = None,
) -> SupervisionSession:
    now = now or timezone.now()
    supervisor = supervisor or actor
    if supervisee is None:
        raise ValidationError({"supervisee": "Select who is being supervised"})
    if supervisee.pk == supervisor.pk:
        raise ValidationError({"supervisee": "Someone cannot supervise themselves"})
    if not policy.can_record_supervision_for(actor, supervisee, supervisor):
        raise PermissionDenied(
            "You can arrange supervision only for staff you or your team supervise"
        )
    if kind not in SupervisionSession.Kind.values:
        raise ValidationError({"kind": "Select the kind of supervision"})
    session = SupervisionSession(
        supervisee=supervisee,
        supervisor=supervisor,
        date=date,
        kind=kind,
        created_at=now,
        created_by=actor,
    )
    return _save(session, actor)


@transaction.atomic
def session_hold(
    *,
    actor: User,
    session: SupervisionSession,
    date: datetime.date | None = None,
    now: datetime.datetime | None = None,
) -> SupervisionSession:
    """Record that the session took place (on `date`, today or earlier)."""
    now = now or timezone.now()
    _require_recorder(actor, session)
    session = _lock(session)
    if session.status != SupervisionSession.Status.PLANNED:
        raise ValidationError(f"This supervision is already {session.get_status_display().lower()}")
    date = date or session.date
    if date > _today(now):
        raise ValidationError({"date": "A supervision can only be held today or in the past"})
    session.date = date
    session.status = SupervisionSession.Status.HELD
    session.held_at = now
    _save(session, actor)
    signals.session_held.send(sender=SupervisionSession, session=session, actor=actor, now=now)
    return session


@transaction.atomic
def session_cancel(
    *,
    actor: User,
    session: SupervisionSession,
    reason: str,
    new_date: datetime.date | None,
    now: datetime.datetime | None = None,
) -> SupervisionSession:
    """Cancel a planned session: a reason and a new date are required, and the new
    session is booked. Cancellations are counted per supervisor."""
    now = now or timezone.now()
    _require_recorder(actor, session)
    session = _lock(session)
    if session.status != SupervisionSession.Status.PLANNED:
        raise ValidationError("Only a planned supervision can be cancelled")
    if session.discussions.exists():
        raise ValidationError(
            "Cases have been discussed in this supervision: record it as held instead"
        )
    errors: dict[str, str] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = "Enter why the supervision is cancelled"
    if new_date is None:
        errors["new_date"] = "Enter the new date for the supervision"
    elif new_date < _today(now):
        errors["new_date"] = "The new date must be today or in the future"
    if errors or new_date is None:
        raise ValidationError(errors)
    rearranged = SupervisionSession(
        supervisee=session.supervisee,
        supervisor=session.supervisor,
        date=new_date,
        kind=session.kind,
        created_at=now,
        created_by=actor,
    )
    _save(rearranged, actor)
    session.status = SupervisionSession.Status.CANCELLED
    session.cancelled_reason = reason
    session.cancelled_at = now
    session.cancelled_by = actor
    session.rearranged_as = rearranged
    _save(session, actor)
    signals.session_cancelled.send(sender=SupervisionSession, session=session, actor=actor, now=now)
    return session


def _check_case_for_session(
    session: SupervisionSession, case: Case | None, field_name: str
) -> None:
    if case is None:
        return
    for person, who in (
        (session.supervisee, "the supervisee"),
        (session.supervisor, "the supervisor"),
    ):
        if not policy.can_view_case(person, case):
            raise ValidationError({field_name: f"{case.reference} is not a case {who} can see"})


def session_version(session: SupervisionSession) -> str:
    """The version of a session's record that its edit form starts from."""
    return version_of(session)


@transaction.atomic
def session_update(
    *,
    actor: User,
    session: SupervisionSession,
    reason: str = "",
    version: str | None = None,
    now: datetime.datetime | None = None,
    **fields: Any,
) -> SupervisionSession:
    """The worries (most and least, and why) and the worker's wellbeing and support.
    Only the fields given are changed; the same values again change nothing."""
    now = now or timezone.now()
    _require_recorder(actor, session)
    session = _lock(session)
    check_version(version, [session], what="this supervision record")
    if session.status == SupervisionSession.Status.CANCELLED:
        raise ValidationError("This supervision was cancelled")
    values = {}
    for name, value in fields.items():
        if name not in SESSION_FIELDS:
            raise TypeError(f"Unknown session field: {name}")
        values[name] = value.strip() if isinstance(value, str) else value
    changed = assign(session, **values)
    if not changed:
        return session
    for name in ("most_worried_case", "least_worried_case"):
        if name in changed:
            _check_case_for_session(session, getattr(session, name), name)
    for name in ("most_worried_case", "least_worried_case"):
        worried = getattr(session, name)
        if name in changed and worried is not None:
            if not policy.can_view_case(actor, worried):
                raise ValidationError({name: "Select a case you can see"})
    if (
        session.most_worried_case_id
        and session.most_worried_case_id == session.least_worried_case_id
    ):
        raise ValidationError(
            {"least_worried_case": "Choose a different case from the one that worries you most"}
        )
    change = _amend(
        actor=actor, session=session, what="Worries and wellbeing", reason=reason, now=now
    )
    return _save(session, actor, change)


@transaction.atomic
def session_sign_off(
    *, actor: User, session: SupervisionSession, now: datetime.datetime | None = None
) -> SupervisionSession:
    now = now or timezone.now()
    if not policy.can_sign_off_session(actor, session):
        raise PermissionDenied("Only the supervisor signs the record off")
    session = _lock(session)
    if session.status != SupervisionSession.Status.HELD:
        raise ValidationError("Record the supervision as held before signing it off")
    if session.is_signed_off:
        raise ValidationError("This record is already signed off")
    session.signed_off_at = now
    session.signed_off_by = actor
    _save(session, actor, "Signed off")
    signals.session_signed_off.send(
        sender=SupervisionSession, session=session, actor=actor, now=now
    )
    return session


# --- Case discussions -----------------------------------------------------------------


@dataclass
class Answers:
    """The reflective questions: each an answer, or in `not_discussed`."""

    lived_experience: str = ""
    answers: dict[str, str] = field(default_factory=dict)
    not_discussed: set[str] = field(default_factory=set)


def _answer_values(data: Answers) -> tuple[dict[str, Any], dict[str, str]]:
    """The discussion's fields from `data`, and what is wrong with them (by field)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"lived_experience": (data.lived_experience or "").strip()}
    if not values["lived_experience"]:
        errors["lived_experience"] = "Describe the child's lived experience now, in a sentence"
    unknown = (set(data.answers) | set(data.not_discussed)) - set(QUESTION_FIELDS)
    if unknown:
        raise TypeError(f"Unknown questions: {sorted(unknown)}")
    for name in QUESTION_FIELDS:
        answer = (data.answers.get(name) or "").strip()
        skipped = name in data.not_discussed
        if answer and skipped:
            errors[name] = "Give an answer or mark it not discussed, not both"
        elif not answer and not skipped:
            errors[name] = "Give an answer, or mark it not discussed"
        values[name] = answer
        values[f"{name}_not_discussed"] = skipped
    return values, errors


def _apply_answers(discussion: CaseDiscussion, data: Answers) -> list[str]:
    """Set the answers on `discussion`; the fields that changed."""
    values, errors = _answer_values(data)
    if errors:
        raise ValidationError(errors)
    return assign(discussion, **values)


@transaction.atomic
def discussion_create(
    *,
    actor: User,
    session: SupervisionSession,
    case: Case,
    data: Answers,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> CaseDiscussion:
    now = now or timezone.now()
    _require_recorder(actor, session)
    session = _lock(session)
    if session.status == SupervisionSession.Status.CANCELLED:
        raise ValidationError("This supervision was cancelled")
    if case is None:
        raise ValidationError({"case": "Select the case discussed"})
    _check_case_for_session(session, case, "case")
    if not policy.can_view_case(actor, case):
        raise ValidationError({"case": "Select a case you can see"})
    require_open(case, "discussing it in supervision")
    if CaseDiscussion.objects.filter(session=session, case=case).exists():
        raise ValidationError(
            {
                "case": f"{case.reference} is already discussed in this "
                "supervision: change that discussion instead"
            }
        )
    discussion = CaseDiscussion(session=session, case=case, created_at=now, created_by=actor)
    _apply_answers(discussion, data)
    change = _amend(
        actor=actor,
        session=session,
        what=f"Added discussion of {case.reference}",
        reason=reason,
        now=now,
    )
    _save(discussion, actor, change)
    signals.discussion_recorded.send(
        sender=CaseDiscussion, discussion=discussion, actor=actor, now=now
    )
    return discussion


def discussion_version(discussion: CaseDiscussion) -> str:
    """The version of a discussion that its edit form starts from."""
    return version_of(discussion)


@transaction.atomic
def discussion_update(
    *,
    actor: User,
    discussion: CaseDiscussion,
    data: Answers,
    reason: str = "",
    version: str | None = None,
    now: datetime.datetime | None = None,
) -> CaseDiscussion:
    """The child's lived experience and the answers. The same answers again change
    nothing."""
    now = now or timezone.now()
    _require_discussion_recorder(actor, discussion)
    session = _lock(discussion.session)
    discussion = (
        CaseDiscussion.objects.select_for_update().select_related("case").get(pk=discussion.pk)
    )
    check_version(version, [discussion], what=f"the discussion of {discussion.case.reference}")
    values, errors = _answer_values(data)
    if not assign(discussion, **values):
        return discussion
    if errors:
        raise ValidationError(errors)
    change = _amend(
        actor=actor,
        session=session,
        what=f"Changed discussion of {discussion.case.reference}",
        reason=reason,
        now=now,
    )
    _save(discussion, actor, change)
    signals.discussion_recorded.send(
        sender=CaseDiscussion, discussion=discussion, actor=actor, now=now
    )
    return discussion


# --- Decisions and actions -------------------------------------------------------------


@transaction.atomic
def decision_record(
    *,
    actor: User,
    discussion: CaseDiscussion,
    decision: str,
    reasons: str,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> Decision:
    now = now or timezone.now()
    _require_discussion_recorder(actor, discussion)
    session = _lock(discussion.session)
    errors: dict[str, str] = {}
    if not (decision or "").strip():
        errors["decision"] = "Enter the decision"
    if not (reasons or "").strip():
        errors["reasons"] = "Enter the reasons for the decision"
    if errors:
        raise ValidationError(errors)
    change = _amend(
        actor=actor,
        session=session,
        what=f"Added a decision on {discussion.case.reference}",
        reason=reason,
        now=now,
    )
    row = Decision(
        discussion=discussion,
        case_id=discussion.case_id,
        decision=decision.strip(),
        reasons=reasons.strip(),
        decided_on=session.date,
        created_at=now,
        created_by=actor,
    )
    _save(row, actor, change)
    signals.decision_recorded.send(sender=Decision, decision=row, actor=actor, now=now)
    return row


@transaction.atomic
def action_create(
    *,
    actor: User,
    discussion: CaseDiscussion,
    description: str,
    owner: User | None,
    due_date: datetime.date,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> Action:
    now = now or timezone.now()
    _require_discussion_recorder(actor, discussion)
    session = _lock(discussion.session)
    errors: dict[str, str] = {}
    if not (description or "").strip():
        errors["description"] = "Enter what needs doing"
    if owner is None:
        errors["owner"] = "Select who will do it"
    elif not policy.can_view_case(owner, discussion.case):
        errors["owner"] = f"{owner} cannot see this case"
    if due_date is None:
        errors["due_date"] = "Enter the date it is due"
    if errors:
        raise ValidationError(errors)
    change = _amend(
        actor=actor,
        session=session,
        what=f"Added an action on {discussion.case.reference}",
        reason=reason,
        now=now,
    )
    action = Action(
        discussion=discussion,
        case_id=discussion.case_id,
        description=description.strip(),
        owner=owner,
        due_date=due_date,
        created_at=now,
        created_by=actor,
    )
    _save(action, actor, change)
    signals.action_changed.send(sender=Action, action=action, actor=actor, now=now)
    return action


def decision_version(decision: Decision) -> str:
    """The version of a decision that its edit form starts from."""
    return version_of(decision)


@transaction.atomic
def decision_update(
    *,
    actor: User,
    decision: Decision,
    text: str,
    reasons: str,
    reason: str = "",
    version: str | None = None,
    now: datetime.datetime | None = None,
) -> Decision:
    """Change what was decided (`text`) and its reasons. After sign-off a change needs
    a reason and is written as an Amendment; the same values again change nothing.
    The decision's chronology entry follows it."""
    now = now or timezone.now()
    if not policy.can_edit_decision(actor, decision):
        raise PermissionDenied("Only the supervisor or a manager can change this record")
    require_open(decision.case, "changing what supervision recorded about it")
    session = _lock(decision.discussion.session)
    decision = Decision.objects.select_for_update().select_related("case").get(pk=decision.pk)
    check_version(version, [decision], what="this decision")
    text, reasons = (text or "").strip(), (reasons or "").strip()
    errors = {}
    if not text:
        errors["decision"] = "Enter the decision"
    if not reasons:
        errors["reasons"] = "Enter the reasons for the decision"
    if errors:
        raise ValidationError(errors)
    if not assign(decision, decision=text, reasons=reasons):
        return decision
    change = _amend(
        actor=actor,
        session=session,
        what=f"Changed a decision on {decision.case.reference}",
        reason=reason,
        now=now,
    )
    _save(decision, actor, change)
    signals.decision_recorded.send(sender=Decision, decision=decision, actor=actor, now=now)
    return decision


def action_version(action: Action) -> str:
    """The version of an action that its edit form starts from."""
    return version_of(action)


@transaction.atomic
def action_update(
    *,
    actor: User,
    action: Action,
    description: str,
    owner: User | None,
    due_date: datetime.date | None,
    reason: str = "",
    version: str | None = None,
    now: datetime.datetime | None = None,
) -> Action:
    """Change what needs doing, who will do it and when it is due (its status is moved
    on by `action_set_status`). After sign-off a change needs a reason and is written as
    an Amendment; the same values again change nothing."""
    now = now or timezone.now()
    if not policy.can_edit_action(actor, action):
        raise PermissionDenied("Only the supervisor or a manager can change this record")
    require_open(action.case, "changing what supervision recorded about it")
    session = _lock(action.discussion.session)
    action = Action.objects.select_for_update().select_related("case").get(pk=action.pk)
    check_version(version, [action], what="this action")
    description = (description or "").strip()
    errors = {}
    if not description:
        errors["description"] = "Enter what needs doing"
    if owner is None:
        errors["owner"] = "Select who will do it"
    if due_date is None:
        errors["due_date"] = "Enter the date it is due"
    if errors:
        raise ValidationError(errors)
    changed = assign(action, description=description, owner=owner, due_date=due_date)
    if not changed:
        return action
    if "owner" in changed and not policy.can_view_case(owner, action.case):
        raise ValidationError({"owner": f"{owner} cannot see this case"})
    change = _amend(
        actor=actor,
        session=session,
        what=f"Changed an action on {action.case.reference}",
        reason=reason,
        now=now,
    )
    _save(action, actor, change)
    signals.action_changed.send(sender=Action, action=action, actor=actor, now=now)
    return action


@transaction.atomic
def action_set_status(
    *, actor: User, action: Action, status: str, now: datetime.datetime | None = None
) -> Action:
    """Move an action on; completing it records who and when, reopening clears that."""
    now = now or timezone.now()
    action = (
        Action.objects.select_for_update().select_related("discussion__session").get(pk=action.pk)
    )
    if not policy.can_progress_action(actor, action):
        raise PermissionDenied("Only the action's owner or the supervisor can change it")
    if status not in Action.Status.values:
        raise ValidationError({"status": "Select the action's status"})
    if status == action.status:
        return action
    action.status = status
    if status == Action.Status.COMPLETED:
        action.completed_at = now
        action.completed_by = actor
    else:
        action.completed_at = None
        action.completed_by = None
    _save(action, actor, f"Status: {action.get_status_display()}")
    signals.action_changed.send(sender=Action, action=action, actor=actor, now=now)
    return action


def action_complete(*, actor: User, action: Action, now: datetime.datetime | None = None) -> Action:
    return action_set_status(actor=actor, action=action, status=Action.Status.COMPLETED, now=now)

"""Meetings about a family; one of the kind an escalation asks for meets it."""

import datetime
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import policy
from accounts.models import Agency, User
from common.concurrency import check_version, version_of

from .. import rules, signals
from ..models import Case, Escalation, Meeting
from .base import _acting, _assign, _not_future, _require_not_in_error, _require_open, _save
from .escalations import _close_met


@transaction.atomic
def meeting_record(
    *,
    actor: User,
    case: Case,
    kind: str,
    held_on: datetime.date,
    chair: str,
    decisions: str,
    actions: str = "",
    staff_attendees: Iterable[User] = (),
    agencies: Iterable[Agency] = (),
    other_attendees: str = "",
    meets: Escalation | None = None,
    now: datetime.datetime | None = None,
) -> Meeting:
    """Record a meeting; it meets every active escalation on the case that asks for a
    meeting of its kind and fired on or before the day it was held."""
    now = now or timezone.now()
    if not policy.can_edit_case(actor, case):
        raise PermissionDenied
    _require_open(case, "recording a meeting")
    _not_future(held_on, now, "held_on", "The date of the meeting")
    if held_on < case.opened_on:
        raise ValidationError(
            {"held_on": f"The meeting cannot be before the case opened ({case.opened_on:%d/%m/%Y})"}
        )
    if meets is not None:
        if meets.case_id != case.pk:
            raise ValidationError({"meets": "That escalation is on another case"})
        if not meets.is_active:
            state = meets.get_state_display().lower()
            raise ValidationError({"meets": f"That escalation is already {state}"})
        if meets.required_meeting != kind:
            raise ValidationError(
                {"kind": f"That escalation needs a {meets.get_required_meeting_display().lower()}"}
            )
        if held_on < meets.trigger_date:
            raise ValidationError(
                {
                    "held_on": "A meeting held before the escalation fired "
                    f"({meets.trigger_date:%d/%m/%Y}) cannot meet it"
                }
            )
    meeting = Meeting(
        case=case,
        kind=kind,
        held_on=held_on,
        chair=chair.strip(),
        decisions=decisions.strip(),
        actions=actions.strip(),
        other_attendees=other_attendees.strip(),
        created_at=now,
        created_by=actor,
    )
    _save(meeting, actor)
    meeting.staff_attendees.set(staff_attendees)
    meeting.agencies.set(agencies)
    _save(meeting, actor)
    signals.meeting_recorded.send(sender=Meeting, meeting=meeting, actor=actor, now=now)
    active = Escalation.objects.select_for_update().filter(
        case=case,
        state__in=Escalation.ACTIVE_STATES,
        required_meeting=kind,
        trigger_date__lte=held_on,
    )
    for escalation in active:
        if rules.meeting_outcome(escalation, meeting):
            _close_met(escalation, meeting, now, actor=actor)
    return meeting


MEETING_FIELDS = (
    "kind",
    "held_on",
    "chair",
    "decisions",
    "actions",
    "staff_attendees",
    "agencies",
    "other_attendees",
)
_ATTENDANCE = ("staff_attendees", "agencies")


def _attendance_rows(meeting: Meeting) -> tuple[list[Any], list[Any]]:
    """The rows linking the meeting to the staff and agencies who attended (read for
    many meetings at once by `meetings_read_attendance`)."""
    known: tuple[list[Any], list[Any]] | None = getattr(meeting, "_attendance_rows", None)
    if known is not None:
        return known
    staff, agencies = (
        list(getattr(Meeting, name).through.objects.filter(meeting_id=meeting.pk).order_by("pk"))
        for name in _ATTENDANCE
    )
    return staff, agencies


def meetings_read_attendance(meetings: Iterable[Meeting]) -> None:
    """Read who attended many meetings in one query per kind of attendee, for their
    versions (a list of meetings in the API)."""
    meetings = list(meetings)
    rows: dict[int, tuple[list, list]] = {m.pk: ([], []) for m in meetings}
    for i, name in enumerate(_ATTENDANCE):
        for row in (
            getattr(Meeting, name).through.objects.filter(meeting_id__in=list(rows)).order_by("pk")
        ):
            rows[row.meeting_id][i].append(row)
    for meeting in meetings:
        setattr(meeting, "_attendance_rows", rows[meeting.pk])  # noqa: B010 (read above)


def meeting_version(meeting: Meeting) -> str:
    """The version of a meeting that its edit form starts from: the meeting and who
    attended it."""
    return version_of(meeting, *_attendance_rows(meeting))


def _met_list(escalations: Iterable[Escalation]) -> str:
    return ", ".join(
        f"the {e.get_kind_display().lower()} escalation due {e.due_date:%d/%m/%Y}"
        for e in escalations
    )


@transaction.atomic
def meeting_update(
    *,
    actor: User,
    meeting: Meeting,
    version: str | None = None,
    now: datetime.datetime | None = None,
    **fields: Any,
) -> Meeting:
    """Correct what a meeting recorded: who chaired and attended, the decisions and the
    actions; its kind and date too, unless that would change which escalations it meets
    (it met one, or as corrected it would meet one). Such a meeting is marked as recorded
    in error and recorded again instead, so that the escalations are worked out by the
    rules that record and unmake meetings. What is not given is kept. Nothing changed,
    nothing saved."""
    now = now or timezone.now()
    if not policy.can_edit_case(actor, meeting.case):
        raise PermissionDenied
    _require_open(meeting.case, "correcting its meetings")
    unknown = set(fields) - set(MEETING_FIELDS)
    if unknown:
        raise TypeError(f"Unknown meeting fields: {sorted(unknown)}")
    meeting = (
        Meeting.objects.select_for_update(of=("self",)).select_related("case").get(pk=meeting.pk)
    )
    check_version(version, [meeting, *_attendance_rows(meeting)], what="this meeting")
    _require_not_in_error(meeting)
    values: dict[str, Any] = {k: v.strip() if isinstance(v, str) else v for k, v in fields.items()}
    attendance = {
        name: list({obj.pk: obj for obj in values.pop(name)}.values())
        for name in _ATTENDANCE
        if name in values
    }
    attendance = {
        name: chosen
        for name, chosen in attendance.items()
        if {obj.pk for obj in chosen} != set(getattr(meeting, name).values_list("pk", flat=True))
    }
    kind, held_on = meeting.kind, meeting.held_on
    changed = _assign(meeting, **values)
    if not changed and not attendance:
        return meeting
    for name, label in (("chair", "who chaired it"), ("decisions", "what was decided")):
        if not getattr(meeting, name):
            raise ValidationError({name: f"Enter {label}"})
    if meeting.kind not in Meeting.Kind.values:
        raise ValidationError({"kind": "Select the kind of meeting"})
    if meeting.kind != kind or meeting.held_on != held_on:
        _check_kind_and_date(meeting, "kind" if meeting.kind != kind else "held_on", now)
    # One version in the history for the whole correction: the attendees are set
    # without a version each, then the meeting is saved with them.
    _acting(meeting, actor)
    setattr(meeting, "skip_history_when_saving", True)  # noqa: B010 (simple_history's flag)
    try:
        for name, chosen in attendance.items():
            getattr(meeting, name).set(chosen)
    finally:
        delattr(meeting, "skip_history_when_saving")
    _save(meeting, actor)
    meeting.__dict__.pop("_attendance_rows", None)
    signals.record_corrected.send(sender=Meeting, instance=meeting, actor=actor, now=now)
    return meeting


def _check_kind_and_date(meeting: Meeting, field: str, now: datetime.datetime) -> None:
    _not_future(meeting.held_on, now, "held_on", "The date of the meeting")
    if meeting.held_on < meeting.case.opened_on:
        raise ValidationError(
            {
                "held_on": "The meeting cannot be before the case opened "
                f"({meeting.case.opened_on:%d/%m/%Y})"
            }
        )
    again = "mark this meeting as recorded in error and record it again"
    met = list(Escalation.objects.filter(met_by=meeting).order_by("due_date", "pk"))
    if met:
        raise ValidationError(
            {
                field: f"This meeting met {_met_list(met)}, so its kind and date cannot be "
                f"changed here: {again}, and the escalation is worked out again"
            }
        )
    would_meet = [
        e
        for e in Escalation.objects.filter(
            case_id=meeting.case_id,
            state__in=Escalation.ACTIVE_STATES,
            required_meeting=meeting.kind,
            trigger_date__lte=meeting.held_on,
        ).order_by("due_date", "pk")
        if rules.meeting_outcome(e, meeting)
    ]
    if would_meet:
        raise ValidationError(
            {
                field: f"As changed, this meeting would meet {_met_list(would_meet)}: "
                f"{again}, so that it meets the escalation"
            }
        )

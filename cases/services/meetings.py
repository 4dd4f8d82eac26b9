"""Meetings about a family; one of the kind an escalation asks for meets it."""

import datetime
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import policy
from accounts.models import Agency, User

from .. import rules, signals
from ..models import Case, Escalation, Meeting
from .base import _not_future, _require_open, _save
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

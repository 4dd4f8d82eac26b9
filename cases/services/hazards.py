"""Hazards a visitor must know before they knock (R10)."""

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import policy
from accounts.models import User
from common.concurrency import check_version, version_of

from .. import signals
from ..models import Case, Hazard, Person
from .base import _assign, _require_not_in_error, _require_open, _save, _today

# --- Hazards --------------------------------------------------------------------------


@transaction.atomic
def hazard_add(
    *,
    actor: User,
    kind: str,
    details: str,
    start_date: datetime.date,
    case: Case | None = None,
    person: Person | None = None,
    end_date: datetime.date | None = None,
    now: datetime.datetime | None = None,
) -> Hazard:
    now = now or timezone.now()
    if (case is None) == (person is None):
        raise ValidationError("A hazard is about a case or about one person")
    if not policy.can_add_hazard(actor, case=case, person=person):
        raise PermissionDenied
    if case is not None:
        _require_open(case, "adding a hazard")
    if end_date is not None and end_date < start_date:
        raise ValidationError({"end_date": "The end date must be on or after the start date"})
    hazard = Hazard(
        case=case,
        person=person,
        kind=kind,
        details=details.strip(),
        start_date=start_date,
        end_date=end_date,
        created_at=now,
        created_by=actor,
    )
    _save(hazard, actor)
    signals.hazard_added.send(sender=Hazard, hazard=hazard, actor=actor, now=now)
    return hazard


@transaction.atomic
def hazard_end(
    *, actor: User, hazard: Hazard, end_date: datetime.date, now: datetime.datetime | None = None
) -> Hazard:
    now = now or timezone.now()
    if not policy.can_edit_hazard(actor, hazard):
        raise PermissionDenied
    if hazard.case is not None:
        _require_open(hazard.case, "ending a hazard")
    hazard = Hazard.objects.select_for_update().get(pk=hazard.pk)
    _require_not_in_error(hazard)
    if hazard.end_date is not None and hazard.end_date <= _today(now):
        raise ValidationError("This hazard has already ended")
    if end_date < hazard.start_date:
        raise ValidationError(
            {
                "end_date": "The end date must be on or after the start date "
                f"({hazard.start_date:%d/%m/%Y})"
            }
        )
    hazard.end_date = end_date
    _save(hazard, actor)
    signals.hazard_ended.send(sender=Hazard, hazard=hazard, actor=actor, now=now)
    return hazard


HAZARD_FIELDS = ("kind", "details", "start_date", "end_date")


def hazard_version(hazard: Hazard) -> str:
    """The version of a hazard that its edit form starts from."""
    return version_of(hazard)


@transaction.atomic
def hazard_update(
    *,
    actor: User,
    hazard: Hazard,
    version: str | None = None,
    now: datetime.datetime | None = None,
    **fields: Any,
) -> Hazard:
    """Correct a hazard: its kind, what a visitor must know, when it is active from and
    to (an end date taken away makes it active again). Who or what it is about stays.
    What is not given is kept. Nothing changed, nothing saved."""
    now = now or timezone.now()
    if not policy.can_edit_hazard(actor, hazard):
        raise PermissionDenied
    if hazard.case is not None:
        _require_open(hazard.case, "correcting its hazards")
    unknown = set(fields) - set(HAZARD_FIELDS)
    if unknown:
        raise TypeError(f"Unknown hazard fields: {sorted(unknown)}")
    hazard = Hazard.objects.select_for_update().get(pk=hazard.pk)
    check_version(version, [hazard], what="this hazard")
    _require_not_in_error(hazard)
    values = {k: v.strip() if isinstance(v, str) else v for k, v in fields.items()}
    changed = _assign(hazard, **values)
    if not changed:
        return hazard
    if hazard.kind not in Hazard.Kind.values:
        raise ValidationError({"kind": "Select the kind of hazard"})
    if not hazard.details:
        raise ValidationError({"details": "Enter what a visitor must know"})
    if hazard.end_date is not None and hazard.end_date < hazard.start_date:
        field = "end_date" if "end_date" in changed else "start_date"
        raise ValidationError({field: "The end date must be on or after the start date"})
    _save(hazard, actor)
    signals.record_corrected.send(sender=Hazard, instance=hazard, actor=actor, now=now)
    return hazard

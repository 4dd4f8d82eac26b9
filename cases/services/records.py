"""Records kept but marked recorded in error."""

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import policy
from accounts.models import User

from .. import signals
from ..models import (
    Address,
    AgreementBreach,
    ChildProtectionPlan,
    Hazard,
    Meeting,
    Membership,
    WrittenAgreement,
)
from .base import _require_open, _save
from .escalations import _escalations_unmet

# --- Recorded in error ----------------------------------------------------------------

IN_ERROR_MODELS = (
    Membership,
    Address,
    ChildProtectionPlan,
    Hazard,
    Meeting,
    WrittenAgreement,
    AgreementBreach,
)


@transaction.atomic
def record_mark_in_error(
    *,
    actor: User,
    record: Any,
    reason: str,
    now: datetime.datetime | None = None,
) -> Any:
    """Keep a wrong record but take it out of every current view, with the reason.

    A meeting recorded in error met nothing: the escalations it met are worked out
    again in the same transaction (`_escalations_unmet`)."""
    now = now or timezone.now()
    if not isinstance(record, IN_ERROR_MODELS):
        raise TypeError(f"{type(record).__name__} cannot be marked recorded in error")
    if not policy.can_mark_in_error(actor, record):
        raise PermissionDenied
    if record.case is not None:  # a hazard may be about a person, not a case
        _require_open(record.case, "marking its records in error")
    if not reason.strip():
        raise ValidationError({"reason": "Enter why this was recorded in error"})
    record = type(record).objects.select_for_update().get(pk=record.pk)
    if record.in_error:
        raise ValidationError("This is already marked as recorded in error")
    record.in_error = True
    record.in_error_reason = reason.strip()
    record.in_error_at = now
    record.in_error_by = actor
    _save(record, actor, reason="Recorded in error")
    # Sent while the escalations still name the meeting: their "met" entries are struck.
    signals.record_in_error.send(sender=type(record), instance=record, actor=actor, now=now)
    if isinstance(record, Meeting):
        _escalations_unmet(record, actor=actor, now=now)
    return record

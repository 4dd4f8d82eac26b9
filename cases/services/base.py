"""What every service of the case record shares: saving with the acting user on the
history row (`common.records`), and the checks most of them make."""

from typing import Any

from django.core.exceptions import ValidationError

from common.records import acting as _acting
from common.records import assign as _assign
from common.records import because as _because
from common.records import not_future as _not_future
from common.records import save as _save
from common.records import today as _today

from ..models import Case

__all__ = [
    "_acting",
    "_because",
    "_assign",
    "_not_future",
    "_require_not_in_error",
    "_require_open",
    "_save",
    "_today",
    "require_open",
]


def require_open(case: Case, doing: str) -> None:
    """A closed case's record takes no additions or changes until a manager reopens it
    (docs/DECISIONS.md); every service that writes to it asks this after the policy."""
    # Read the status now: the instance passed in may have been loaded before a close.
    if not Case.objects.filter(pk=case.pk, status=Case.Status.OPEN).exists():
        raise ValidationError(f"This case is closed: reopen it before {doing}")


_require_open = require_open


def _require_not_in_error(record: Any) -> None:
    if record.in_error:
        raise ValidationError("This was recorded in error and cannot be changed")

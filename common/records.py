"""Saving a domain record: validated, with who made the change on its history row, and
only when something changed.

Every model of the record keeps its history (django-simple-history); a save writes a
history row. An edit submitted unchanged must change nothing and write no history row,
so update services `assign` the new values and save only if it says something changed.
"""

from __future__ import annotations

import datetime
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils import timezone

M = TypeVar("M", bound=Model)


def acting(obj: M, actor: Any) -> M:
    """Name the acting user on `obj` for the history rows written for it: by its save,
    and by simple_history on a change to a many-to-many field it keeps, which writes a
    version of `obj` at once, outside a request with no user unless one is named here.
    Call it before any such change."""
    obj._history_user = actor  # type: ignore[attr-defined]
    return obj


def because(obj: M, reason: str) -> M:
    """Give the reason for a change on the history row its next save writes."""
    obj._change_reason = reason[:100]  # type: ignore[attr-defined]
    return obj


def save(obj: M, actor: Any, *, reason: str = "", validate: bool = True, **kwargs: Any) -> M:
    """Validate the fields (the services have checked the rules) and save, with the
    acting user, and the reason if there is one, on the history row."""
    acting(obj, actor)
    if reason:
        because(obj, reason)
    if validate:
        obj.full_clean(validate_unique=False, validate_constraints=False)
    obj.save(**kwargs)
    return obj


def assign(obj: Model, **values: Any) -> list[str]:
    """Set the fields that differ from what is stored; the names of those that did."""
    changed = []
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed.append(name)
    return changed


def today(now: datetime.datetime) -> datetime.date:
    return timezone.localdate(now)


def not_future(day: datetime.date, now: datetime.datetime, field: str, label: str) -> None:
    if day > today(now):
        raise ValidationError({field: f"{label} must be today or in the past"})

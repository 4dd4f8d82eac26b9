"""Two people editing the same record: the second is told, never silently overwritten.

An edit form carries the version of what it was filled from (`version_of` the
records it shows, as a hidden field). The service that saves it compares that with
the version stored now (`check_version`); if someone saved in between, it raises
`EditConflict`, a ValidationError that says who changed what and when, and carries
the current version so that the form, shown again with everything typed kept, can
be saved over the newer record once the person has looked at it.

A version is a digest of the stored values, not a counter, so no table needs a
column for it and a record changed by any path (page, API, admin) changes it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils import timezone

VERSION_FIELD = "version"


def _values(record: Model) -> list[Any]:
    opts = record._meta
    return [
        opts.label,
        record.pk,
        *[field.value_to_string(record) for field in opts.concrete_fields if not field.primary_key],
    ]


def version_of(*records: Model | Iterable[Model] | None) -> str:
    """A digest of the stored values of `records` (models, or iterables of them, in
    a stable order); None is skipped."""
    rows: list[Any] = []
    for item in records:
        if item is None:
            continue
        if isinstance(item, Model):
            rows.append(_values(item))
        else:
            rows.extend(_values(record) for record in item)
    payload = json.dumps(rows, default=str, sort_keys=True).encode()
    return hashlib.sha256(payload).hexdigest()[:32]


class EditConflict(ValidationError):
    """Someone saved the record after the form was filled from it."""

    def __init__(self, message: str, *, current_version: str):
        super().__init__(message, code="conflict")
        self.current_version = current_version


def _latest_change(records: Sequence[Model]) -> tuple[Any, datetime.datetime, list[str]] | None:
    """Who made the latest saved change to any of `records`, when, and the fields it
    changed (from the history rows)."""
    latest = None
    for record in records:
        history = getattr(record, "history", None)
        if history is None:
            continue
        row = history.order_by("-history_date").select_related("history_user").first()
        if row is not None and (latest is None or row.history_date > latest.history_date):
            latest = row
    if latest is None:
        return None
    fields: list[str] = []
    previous = latest.prev_record
    if previous is not None:
        opts = latest.instance_type._meta
        for change in latest.diff_against(previous).changes:
            try:
                field = opts.get_field(change.field)
            except Exception:  # a field the model no longer has
                field = None
            label = str(field.verbose_name) if field is not None else change.field
            value = _shown(field, change.new)
            if len(value) > 120:
                value = value[:117] + "..."
            fields.append(f"{label} is now “{value}”" if value else f"{label} is now empty")
    return latest.history_user, latest.history_date, fields


def _shown(field: Any, value: Any) -> str:
    """A stored value as a person reads it: a choice by its label, a date as a date, a
    link to another record by its name, and a many-to-many field (the rows of its
    table, from the history) by the names of what it links to."""
    if value is None or value == "":
        return ""
    if field is None:
        return str(value)
    if field.many_to_many:
        key = field.m2m_reverse_field_name()
        ids = [row.get(key) for row in value if isinstance(row, dict)]
        related = field.related_model._default_manager.in_bulk(ids)
        return ", ".join(str(related[pk]) for pk in ids if pk in related)
    if field.many_to_one or field.one_to_one:
        related = field.related_model._default_manager.filter(pk=value).first()
        return str(related) if related is not None else str(value)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return f"{value:%d/%m/%Y}"
    return str(value)


def check_version(
    expected: str | None, records: Sequence[Model | Iterable[Model] | None], *, what: str
) -> None:
    """Raise EditConflict if `records` changed since the form showed version `expected`.

    No version (an API client that does not send one) means the caller accepts
    whatever is stored now."""
    if not expected:
        return
    current = version_of(*records)
    if expected == current:
        return
    flat = [
        r
        for item in records
        if item is not None
        for r in ([item] if isinstance(item, Model) else list(item))
    ]
    change = _latest_change(flat)
    who, when, changed = "Someone", "", ""
    if change is not None:
        user, at, fields = change
        who = (user.get_full_name() or user.username) if user is not None else "The system"
        when = f" at {timezone.localtime(at):%H:%M on %d %B %Y}"
        if fields:
            changed = ": " + "; ".join(fields)
    raise EditConflict(
        f"{who} changed {what}{when}, after you opened this form{changed}. Nothing you "
        "typed here has been saved yet. Check what is on the form against their change, "
        "then save again to replace the record with what is on this form.",
        current_version=current,
    )

"""The history of changes to a case record, with who made each one."""

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache

from django.contrib.auth import get_user_model
from django.db.models import Q
from simple_history.models import ModelChange

from .models import (
    Address,
    AgreementBreach,
    Case,
    ChildProtectionPlan,
    Hazard,
    Membership,
    Person,
    WrittenAgreement,
)

ACTIONS = {"+": "Added", "~": "Changed", "-": "Removed"}
HIDDEN_FIELDS = {"created_at", "created_by", "in_error_at", "in_error_by", "history_user"}


@dataclass
class Change:
    when: datetime
    who: object
    what: str
    record: str
    action: str
    reason: str = ""
    fields: list[tuple[str, str, str]] = field(default_factory=list)
    who_id: int | None = None


def _show(f, value) -> str:
    if value in (None, ""):
        return "(blank)"
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    if isinstance(value, list):
        return f"{len(value)} people"
    return str(value)


def _changes_for(
    model, label: str, records, limit: int | None = None, relate=lambda instance: instance
) -> list[Change]:
    """The changes in `records` (oldest first), newest first; with `limit`, only that
    many are worked out (comparing versions is the costly part)."""
    records = list(records)
    before_of, latest = {}, {}
    for record in records:
        before_of[record.history_id] = latest.get(record.id)
        latest[record.id] = record
    many = _ManyToManyVersions(model, records)
    changes = []
    for record in reversed(records):
        if limit is not None and len(changes) >= limit:
            break
        fields = []
        before = before_of[record.history_id]
        if before is not None and record.history_type == "~":
            # Both are versions of the same record, read from the same history table.
            delta = record.diff_against(before, excluded_fields=many.names).changes
            delta = sorted(delta + many.changes(before, record), key=lambda c: c.field)
            for c in delta:
                if c.field in HIDDEN_FIELDS:
                    continue
                f = model._meta.get_field(c.field)
                fields.append((str(f.verbose_name).capitalize(), _show(f, c.old), _show(f, c.new)))
            if not fields:
                continue  # saved with nothing a reader would see changed
        changes.append(
            Change(
                when=record.history_date,
                who=None,
                who_id=record.history_user_id,
                what=label,
                record=str(relate(record.instance)),
                action=ACTIONS.get(record.history_type, "Changed"),
                reason=record.history_change_reason or "",
                fields=fields,
            )
        )
    return changes


class _ManyToManyVersions:
    """The many-to-many fields `model` keeps in its history (a case's allocated workers
    and named users), compared between two versions as simple_history's diff_against
    compares them, from one read of each field's rows for all `records` on the first
    comparison (diff_against reads them twice for every comparison)."""

    def __init__(self, model, records):
        self.fields = _many_to_many(model)
        self.names = [name for name, *_ in self.fields]
        self._records = records
        self._rows = None

    def changes(self, before, after) -> list[ModelChange]:
        if not self.fields:
            return []
        if self._rows is None:
            self._rows = self._read()
        out = []
        for name in self.names:
            old = self._rows[name].get(before.history_id, [])
            new = self._rows[name].get(after.history_id, [])
            if old != new:
                out.append(ModelChange(name, old, new))
        return out

    def _read(self) -> dict[str, dict[int, list[dict]]]:
        ids = [r.history_id for r in self._records]
        rows = {}
        for name, rows_model, order, columns in self.fields:
            by_version = rows[name] = {}
            for row in (
                rows_model._default_manager.filter(history_id__in=ids)
                .order_by(order)
                .values("history_id", *columns)
            ):
                by_version.setdefault(row.pop("history_id"), []).append(row)
        return rows


@cache
def _many_to_many(model) -> list[tuple]:
    """For each many-to-many field in `model`'s history: its name, the model of its
    rows in the history, the column they are ordered by and the columns compared."""
    history = model.history.model
    fields = []
    for f in history._history_m2m_fields:
        rows_model = getattr(history, f.name).model
        columns = [
            c.name
            for c in rows_model._meta.fields
            if c.editable and c.name not in ("id", "m2m_history_id", "history")
        ]
        fields.append((f.name, rows_model, f.m2m_reverse_field_name(), columns))
    return fields


def case_changes(
    case: Case, limit: int | None = None, *, people: dict[int, Person] | None = None
) -> list[Change]:
    """Changes to the case and everything on it, newest first. `people` is everyone who
    has been on the case (in error too) by id, when the caller has read them already."""
    if people is None:
        people = Person.objects.in_bulk(
            list(
                Membership.objects.filter(case=case).values_list("person_id", flat=True).distinct()
            )
        )
    person_ids = list(people)
    sources = [
        (Case, "Case", _versions(Case).filter(id=case.pk)),
        (Membership, "Household member", _versions(Membership).filter(case_id=case.pk)),
        (Address, "Address", _versions(Address).filter(case_id=case.pk)),
        (
            ChildProtectionPlan,
            "Child protection plan",
            _versions(ChildProtectionPlan).filter(case_id=case.pk),
        ),
        (
            Hazard,
            "Hazard",
            _versions(Hazard).filter(Q(case_id=case.pk) | Q(person_id__in=person_ids)),
        ),
        (
            WrittenAgreement,
            "Written agreement",
            _versions(WrittenAgreement).filter(case_id=case.pk),
        ),
        (
            AgreementBreach,
            "Breach of the written agreement",
            _versions(AgreementBreach).filter(
                agreement_id__in=WrittenAgreement.objects.filter(case=case).values("pk")
            ),
        ),
        (Person, "Person", _versions(Person).filter(id__in=person_ids)),
    ]

    # Each record is named after the person and case it is about, from the people read
    # once above, not once per record.
    def relate(instance):
        for name in ("person", "child"):
            pk = getattr(instance, f"{name}_id", None)
            if pk in people:
                instance._meta.get_field(name).set_cached_value(instance, people[pk])
        if getattr(instance, "case_id", None) == case.pk:
            instance._meta.get_field("case").set_cached_value(instance, case)
        return instance

    changes = []
    for model, label, qs in sources:
        records = qs.order_by("history_date", "history_id")
        changes.extend(_changes_for(model, label, records, limit, relate))
    changes.sort(key=lambda c: c.when, reverse=True)
    changes = changes[:limit] if limit else changes
    # Who made them: one read for the changes shown, not a join in every history query.
    users = get_user_model().objects.in_bulk({c.who_id for c in changes} - {None})
    for change in changes:
        change.who = users.get(change.who_id)
    return changes


@cache
def _versions(model):
    """The manager of `model`'s history table (`model.history` builds a new manager
    class each time it is read)."""
    return model.history.model._default_manager

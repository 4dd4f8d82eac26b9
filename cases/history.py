"""The history of changes to a case record, with who made each one."""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import Q

from .models import Address, Case, ChildProtectionPlan, Hazard, Membership, Person

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


def _changes_for(model, label: str, records, limit: int | None = None,
                 relate=lambda instance: instance) -> list[Change]:
    """The changes in `records` (oldest first), newest first; with `limit`, only that
    many are worked out (comparing versions is the costly part)."""
    records = list(records)
    before_of, latest = {}, {}
    for record in records:
        before_of[record.history_id] = latest.get(record.id)
        latest[record.id] = record
    changes = []
    for record in reversed(records):
        if limit is not None and len(changes) >= limit:
            break
        fields = []
        before = before_of[record.history_id]
        if before is not None and record.history_type == "~":
            # Both are versions of the same record, read from the same history table.
            for c in record.diff_against(before).changes:
                if c.field in HIDDEN_FIELDS:
                    continue
                f = model._meta.get_field(c.field)
                fields.append((str(f.verbose_name).capitalize(), _show(f, c.old), _show(f, c.new)))
            if not fields:
                continue  # saved with nothing a reader would see changed
        changes.append(Change(
            when=record.history_date, who=record.history_user, what=label,
            record=str(relate(record.instance)), action=ACTIONS.get(record.history_type, "Changed"),
            reason=record.history_change_reason or "", fields=fields,
        ))
    return changes


def case_changes(case: Case, limit: int | None = None, *,
                 people: dict[int, Person] | None = None) -> list[Change]:
    """Changes to the case and everything on it, newest first. `people` is everyone who
    has been on the case (in error too) by id, when the caller has read them already."""
    if people is None:
        people = Person.objects.in_bulk(list(
            Membership.objects.filter(case=case).values_list("person_id", flat=True).distinct()
        ))
    person_ids = list(people)
    sources = [
        (Case, "Case", Case.history.filter(id=case.pk)),
        (Membership, "Household member", Membership.history.filter(case_id=case.pk)),
        (Address, "Address", Address.history.filter(case_id=case.pk)),
        (ChildProtectionPlan, "Child protection plan",
         ChildProtectionPlan.history.filter(case_id=case.pk)),
        (Hazard, "Hazard",
         Hazard.history.filter(Q(case_id=case.pk) | Q(person_id__in=person_ids))),
        (Person, "Person", Person.history.filter(id__in=person_ids)),
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
        records = qs.select_related("history_user").order_by("history_date", "history_id")
        changes.extend(_changes_for(model, label, records, limit, relate))
    changes.sort(key=lambda c: c.when, reverse=True)
    return changes[:limit] if limit else changes

"""Two records of one person merged into one (docs/DECISIONS.md "Merging two records").

Everything recorded about the person on the duplicate moves to the record kept: their
memberships of cases, child protection plans and hazards here, and, through the
`person_merged` signal, their part in visits (visits/) and the children of chronology
entries (chronologies/), in the same transaction. Every moved row is saved with the
acting user and the reason on its history row. The duplicate is never deleted: it is
kept, marked merged into the other, and left out of searches and lists.
"""

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import policy
from accounts.models import User

from .. import signals
from ..models import ChildProtectionPlan, Hazard, Membership, Person
from .base import _save

# Details of the duplicate that fill the same field of the record kept when it is blank.
FILLED_WHEN_BLANK = (
    "first_name",
    "middle_names",
    "gender",
    "first_language",
    "disability",
    "nhs_number",
    "upn",
    "la_child_id",
)
# Identifiers that cannot differ between two records of one person.
MUST_AGREE = {
    "date_of_birth": "dates of birth",
    "nhs_number": "NHS numbers",
    "upn": "unique pupil numbers",
}
ALIASES_MAX = Person._meta.get_field("aliases").max_length


def merge_reason(keep: Person, duplicate: Person) -> str:
    """What the history rows of a merge say (names are not put there: ids only)."""
    return f"Merged record {duplicate.pk} into record {keep.pk}"


@transaction.atomic
def person_merge(
    *,
    actor: User,
    keep: Person,
    duplicate: Person,
    reason: str,
    now: datetime.datetime | None = None,
) -> Person:
    """Merge `duplicate` into `keep`; returns the record kept.

    Refused (ValidationError) for a record merged with itself, into or from a record
    already merged, two records whose dates of birth, NHS numbers or unique pupil
    numbers differ, two records on one case at the same time, or two child protection
    plans of the child at the same time: a person has to put the records right first.
    """
    now = now or timezone.now()
    if not (policy.can_merge_person(actor, keep) and policy.can_merge_person(actor, duplicate)):
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why these two records are one person"})
    if keep.pk == duplicate.pk:
        raise ValidationError(
            {"duplicate": "Choose another record: a record cannot be merged with itself"}
        )
    locked = {
        p.pk: p
        for p in Person.objects.select_for_update()
        .filter(pk__in=[keep.pk, duplicate.pk])
        .order_by("pk")
    }
    keep, duplicate = locked[keep.pk], locked[duplicate.pk]
    _check_pair(keep, duplicate)
    memberships = list(
        Membership.objects.select_for_update()
        .filter(person__in=[keep, duplicate])
        .select_related("case")
        .order_by("pk")
    )
    plans = list(
        ChildProtectionPlan.objects.select_for_update()
        .filter(child__in=[keep, duplicate])
        .select_related("case")
        .order_by("pk")
    )
    _check_overlaps(keep, duplicate, memberships, plans)

    why = merge_reason(keep, duplicate)
    for membership in memberships:
        if membership.person_id == duplicate.pk:
            membership.person = keep
            _save(membership, actor, reason=why, validate=False)
    for plan in plans:
        if plan.child_id == duplicate.pk:
            plan.child = keep
            _save(plan, actor, reason=why, validate=False)
    for hazard in Hazard.objects.select_for_update().filter(person=duplicate).order_by("pk"):
        hazard.person = keep
        _save(hazard, actor, reason=why, validate=False)

    filled = _details_to_fill(keep, duplicate)
    # Identifiers are unique: the duplicate gives its up before the record kept takes them.
    for name in ("nhs_number", "upn"):
        if name in filled:
            setattr(duplicate, name, "")
    duplicate.merged_into = keep
    duplicate.merged_at = now
    duplicate.merged_by = actor
    duplicate.merged_reason = reason
    _save(duplicate, actor, reason=why, validate=False)
    if filled:
        for name, value in filled.items():
            setattr(keep, name, value)
        _save(keep, actor, reason=why, validate=False)
    signals.person_merged.send(
        sender=Person, keep=keep, duplicate=duplicate, reason=reason, actor=actor, now=now
    )
    return keep


# A baby is born at most this long before the date they were expected.
EARLIEST_BEFORE_DUE = datetime.timedelta(days=120)


def why_not_one_person(a: Person, b: Person) -> str | None:
    """Why two records cannot be of one person, from what they say of them (their
    identifiers, or a birth long before the other was due); None if they could be."""
    differ = [
        label
        for name, label in MUST_AGREE.items()
        if getattr(a, name) and getattr(b, name) and getattr(a, name) != getattr(b, name)
    ]
    if differ:
        return (
            f"These records have different {' and '.join(differ)}. If they are one person, "
            "correct the wrong record first (its details page keeps the history), then "
            "merge them"
        )
    for born, unborn in ((a, b), (b, a)):
        due = unborn.expected_date_of_birth
        if born.date_of_birth and not unborn.date_of_birth and due:
            if born.date_of_birth < due - EARLIEST_BEFORE_DUE:
                return (
                    f"{born.display_name} was born on {born.date_of_birth:%d/%m/%Y}, long "
                    f"before {unborn.display_name} was due ({due:%d/%m/%Y}): they cannot be "
                    "one person"
                )
    return None


def _check_pair(keep: Person, duplicate: Person) -> None:
    if keep.merged_into_id is not None:
        raise ValidationError(
            f"{keep.display_name} ({keep.record_label}) was merged into "
            f"record {keep.merged_into_id}: merge into that record instead"
        )
    if duplicate.merged_into_id is not None:
        raise ValidationError(
            {
                "duplicate": f"{duplicate.display_name} ({duplicate.record_label}) was already "
                f"merged into record {duplicate.merged_into_id}"
            }
        )
    why_not = why_not_one_person(keep, duplicate)
    if why_not:
        raise ValidationError({"duplicate": why_not})


def _overlap(a: Any, b: Any) -> bool:
    """Whether two periods (start_date, end_date or None for still going) share a day."""
    far = datetime.date.max
    return a.start_date <= (b.end_date or far) and b.start_date <= (a.end_date or far)


def _check_overlaps(
    keep: Person,
    duplicate: Person,
    memberships: list[Membership],
    plans: list[ChildProtectionPlan],
) -> None:
    current = [m for m in memberships if not m.in_error]
    for m in current:
        if m.person_id != duplicate.pk:
            continue
        for other in current:
            if other.person_id == keep.pk and other.case_id == m.case_id and _overlap(m, other):
                raise ValidationError(
                    {
                        "duplicate": f"Both records are on case {m.case.reference} at the same "
                        f"time ({_period(other)} and {_period(m)}). Record that one of them "
                        "left, or mark one recorded in error, then merge them"
                    }
                )
    current_plans = [p for p in plans if not p.in_error]
    for p in current_plans:
        if p.child_id != duplicate.pk:
            continue
        for other_plan in current_plans:
            if other_plan.child_id == keep.pk and _overlap(p, other_plan):
                raise ValidationError(
                    {
                        "duplicate": "Both records have a child protection plan at the same "
                        f"time (on {other_plan.case.reference} from "
                        f"{other_plan.start_date:%d/%m/%Y} and "
                        f"on {p.case.reference} from {p.start_date:%d/%m/%Y}). End one of them, "
                        "or mark one recorded in error, then merge them"
                    }
                )


def _period(record: Any) -> str:
    end = f"{record.end_date:%d/%m/%Y}" if record.end_date else "now"
    return f"{record.start_date:%d/%m/%Y} to {end}"


def _details_to_fill(keep: Person, duplicate: Person) -> dict:
    """What the record kept takes from the duplicate: blank details, the date of birth
    of a child born since an unborn record was made, and the duplicate's names and
    other names as other names of the record kept."""
    values = {
        name: getattr(duplicate, name)
        for name in FILLED_WHEN_BLANK
        if not getattr(keep, name) and getattr(duplicate, name)
    }
    if keep.date_of_birth is None and duplicate.date_of_birth is not None:
        values["date_of_birth"] = duplicate.date_of_birth
        values["expected_date_of_birth"] = None
    elif (
        keep.date_of_birth is None
        and keep.expected_date_of_birth is None
        and duplicate.expected_date_of_birth is not None
    ):
        values["expected_date_of_birth"] = duplicate.expected_date_of_birth
    if keep.sex == Person.Sex.NOT_KNOWN and duplicate.sex != Person.Sex.NOT_KNOWN:
        values["sex"] = duplicate.sex
    if keep.ethnicity == "NOBT" and duplicate.ethnicity != "NOBT":
        values["ethnicity"] = duplicate.ethnicity
    if duplicate.interpreter_needed and not keep.interpreter_needed:
        values["interpreter_needed"] = True
    aliases = _aliases_with(keep, duplicate)
    if aliases != keep.aliases:
        values["aliases"] = aliases
    return values


def _aliases_with(keep: Person, duplicate: Person) -> str:
    lines = [line.strip() for line in keep.aliases.splitlines() if line.strip()]
    known = {line.lower() for line in lines} | {keep.full_name.lower()}
    added = False
    for name in [duplicate.full_name, *duplicate.aliases.splitlines()]:
        name = name.strip()
        if name and name.lower() not in known:
            lines.append(name)
            known.add(name.lower())
            added = True
    if not added:
        return keep.aliases
    aliases = "\n".join(lines)
    if ALIASES_MAX is not None and len(aliases) > ALIASES_MAX:
        raise ValidationError(
            {
                "duplicate": "Together the two records have more other names than one record "
                f"can hold ({ALIASES_MAX} characters): shorten the other names of one of them "
                "first"
            }
        )
    return aliases

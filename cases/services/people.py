"""People, and their membership of a case over time (R8)."""

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import policy
from accounts.models import User
from common.concurrency import check_version, version_of

from .. import signals
from ..models import Case, ChildProtectionPlan, Membership, Person
from ..validators import normalise_nhs_number, normalise_upn
from .base import _assign, _not_future, _require_not_in_error, _require_open, _save

# --- Person ---------------------------------------------------------------------------

PERSON_FIELDS = (
    "first_name",
    "middle_names",
    "last_name",
    "aliases",
    "date_of_birth",
    "expected_date_of_birth",
    "sex",
    "gender",
    "ethnicity",
    "first_language",
    "interpreter_needed",
    "disability",
    "nhs_number",
    "upn",
    "la_child_id",
)


def _clean_person(person: Person, now: datetime.datetime) -> None:
    person.nhs_number = normalise_nhs_number(person.nhs_number)
    person.upn = normalise_upn(person.upn)
    if person.date_of_birth and person.expected_date_of_birth:
        raise ValidationError(
            {
                "expected_date_of_birth": "Give a date of birth or an expected date of birth, "
                "not both"
            }
        )
    if person.date_of_birth:
        _not_future(person.date_of_birth, now, "date_of_birth", "Date of birth")
    errors: dict[str, str] = {}
    if (
        person.nhs_number
        and Person.objects.filter(nhs_number=person.nhs_number).exclude(pk=person.pk).exists()
    ):
        errors["nhs_number"] = "Another person already has this NHS number: search for them"
    if person.upn and Person.objects.filter(upn=person.upn).exclude(pk=person.pk).exists():
        errors["upn"] = "Another person already has this UPN: search for them"
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def person_create(*, actor: User, now: datetime.datetime | None = None, **fields: Any) -> Person:
    now = now or timezone.now()
    if not policy.can_create_person(actor):
        raise PermissionDenied
    unknown = set(fields) - set(PERSON_FIELDS)
    if unknown:
        raise TypeError(f"Unknown person fields: {sorted(unknown)}")
    person = Person(created_at=now, created_by=actor, **fields)
    _clean_person(person, now)
    return _save(person, actor)


def person_version(person: Person) -> str:
    """The version of a person's details that their edit form starts from."""
    return version_of(person)


@transaction.atomic
def person_update(
    *,
    actor: User,
    person: Person,
    version: str | None = None,
    now: datetime.datetime | None = None,
    **fields: Any,
) -> Person:
    """Change a person's details; what is not given is kept. Nothing changed, nothing
    saved."""
    now = now or timezone.now()
    if not policy.can_edit_person(actor, person):
        raise PermissionDenied
    person = Person.objects.select_for_update().get(pk=person.pk)
    if person.merged_into_id is not None:
        raise ValidationError(
            f"This record was merged into record {person.merged_into_id}: change that one"
        )
    check_version(version, [person], what=f"the details of {person.display_name}")
    unknown = set(fields) - set(PERSON_FIELDS)
    if unknown:
        raise TypeError(f"Unknown person fields: {sorted(unknown)}")
    values = {
        name: value.strip() if isinstance(value, str) else value for name, value in fields.items()
    }
    for name in ("nhs_number", "upn"):
        if name in values:
            values[name] = (normalise_nhs_number if name == "nhs_number" else normalise_upn)(
                values[name]
            )
    if not _assign(person, **values):
        return person
    _clean_person(person, now)
    return _save(person, actor)


# --- Membership -----------------------------------------------------------------------


@transaction.atomic
def membership_add(
    *,
    actor: User,
    case: Case,
    person: Person,
    relationship: str,
    start_date: datetime.date,
    lives_in_household: bool = True,
    now: datetime.datetime | None = None,
) -> Membership:
    now = now or timezone.now()
    if not policy.can_edit_case(actor, case):
        raise PermissionDenied
    if not policy.can_link_person(actor, person):
        raise ValidationError({"person": "Select a person you may add to this case"})
    case = Case.objects.select_for_update().get(pk=case.pk)
    _require_open(case, "adding people")
    # Read under a lock: a merge (which locks both people) may have just marked them.
    person = Person.objects.select_for_update().get(pk=person.pk)
    if person.merged_into_id is not None:
        raise ValidationError(
            {
                "person": f"{person.display_name} ({person.record_label}) was merged into "
                f"record {person.merged_into_id}: search again and add that record"
            }
        )
    _not_future(start_date, now, "start_date", "The date they joined")
    if Membership.objects.filter(
        case=case, person=person, end_date__isnull=True, in_error=False
    ).exists():
        raise ValidationError({"person": f"{person.full_name} is already on this case"})
    previous = Membership.objects.filter(
        case=case, person=person, in_error=False, end_date__gte=start_date
    )
    if previous.exists():
        raise ValidationError(
            {
                "start_date": "They were on this case until "
                f"{previous.latest('end_date').end_date:%d/%m/%Y}: "
                "the new date must be after that"
            }
        )
    membership = Membership(
        case=case,
        person=person,
        relationship=relationship,
        lives_in_household=lives_in_household,
        start_date=start_date,
    )
    _save(membership, actor)
    signals.member_joined.send(sender=Membership, membership=membership, actor=actor, now=now)
    return membership


@transaction.atomic
def membership_end(
    *,
    actor: User,
    membership: Membership,
    end_date: datetime.date,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> Membership:
    now = now or timezone.now()
    if not policy.can_edit_case(actor, membership.case):
        raise PermissionDenied
    _require_open(membership.case, "recording that someone left")
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    _require_not_in_error(membership)
    if membership.end_date is not None:
        raise ValidationError("This person has already left")
    _not_future(end_date, now, "end_date", "The date they left")
    if end_date < membership.start_date:
        raise ValidationError(
            {
                "end_date": "The date they left must be on or after the date they joined "
                f"({membership.start_date:%d/%m/%Y})"
            }
        )
    membership.end_date = end_date
    membership.end_reason = reason.strip()
    _save(membership, actor)
    signals.member_left.send(sender=Membership, membership=membership, actor=actor, now=now)
    return membership


def membership_version(membership: Membership) -> str:
    """The version of a stay on a case that its edit forms start from."""
    return version_of(membership)


def _stay_of(membership: Membership) -> str:
    return f"the stay of {membership.person.display_name} on this case"


@transaction.atomic
def membership_set_household(
    *,
    actor: User,
    membership: Membership,
    lives_in_household: bool,
    version: str | None = None,
    now: datetime.datetime | None = None,
) -> Membership:
    """They have moved in or out since: recorded as a change to the household, with its
    own chronology entry. A stay recorded wrongly is corrected by `membership_update`."""
    now = now or timezone.now()
    if not policy.can_edit_case(actor, membership.case):
        raise PermissionDenied
    _require_open(membership.case, "changing who lives in the household")
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    check_version(version, [membership], what=_stay_of(membership))
    _require_not_in_error(membership)
    if membership.lives_in_household == lives_in_household:
        return membership
    membership.lives_in_household = lives_in_household
    _save(membership, actor)
    signals.member_changed.send(sender=Membership, membership=membership, actor=actor, now=now)
    return membership


MEMBERSHIP_FIELDS = ("relationship", "lives_in_household", "start_date", "end_date", "end_reason")


def _d(day: datetime.date | None) -> str:
    return f"{day:%d/%m/%Y}" if day else "now"


@transaction.atomic
def membership_update(
    *,
    actor: User,
    membership: Membership,
    version: str | None = None,
    now: datetime.datetime | None = None,
    **fields: Any,
) -> Membership:
    """Correct a stay on a case: the relationship, whether they live in the household,
    when they joined and when and why they left; what is not given is kept. Stays of
    one person on one case may not overlap, and each child protection plan recorded on
    the case keeps starting on a day they were on it as a child. Nothing changed,
    nothing saved."""
    now = now or timezone.now()
    if not policy.can_edit_case(actor, membership.case):
        raise PermissionDenied
    _require_open(membership.case, "correcting who is on it")
    unknown = set(fields) - set(MEMBERSHIP_FIELDS)
    if unknown:
        raise TypeError(f"Unknown membership fields: {sorted(unknown)}")
    # The case first, as membership_add locks it: two stays cannot be changed into an
    # overlap at once. Then the person, as plan_start locks them.
    Case.objects.select_for_update().get(pk=membership.case_id)
    Person.objects.select_for_update().get(pk=membership.person_id)
    membership = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("person", "case")
        .get(pk=membership.pk)
    )
    check_version(version, [membership], what=_stay_of(membership))
    _require_not_in_error(membership)
    values = {k: v.strip() if isinstance(v, str) else v for k, v in fields.items()}
    if values.get("end_date", membership.end_date) is None:
        values["end_reason"] = ""  # no reason for leaving without a date they left
    changed = _assign(membership, **values)
    if not changed:
        return membership
    _check_stay(membership, changed, now)
    _save(membership, actor)
    signals.record_corrected.send(sender=Membership, instance=membership, actor=actor, now=now)
    return membership


def _check_stay(membership: Membership, changed: list[str], now: datetime.datetime) -> None:
    if membership.relationship not in Membership.Relationship.values:
        raise ValidationError({"relationship": "Select their relationship in this family"})
    if membership.start_date is None:
        raise ValidationError({"start_date": "Enter the date they joined"})
    _not_future(membership.start_date, now, "start_date", "The date they joined")
    if membership.end_date is not None:
        _not_future(membership.end_date, now, "end_date", "The date they left")
        if membership.end_date < membership.start_date:
            raise ValidationError(
                {
                    "end_date": "The date they left must be on or after the date they joined "
                    f"({membership.start_date:%d/%m/%Y})"
                }
            )
    others = Membership.objects.filter(
        case_id=membership.case_id, person_id=membership.person_id, in_error=False
    ).exclude(pk=membership.pk)
    overlapping = others.filter(Q(end_date__isnull=True) | Q(end_date__gte=membership.start_date))
    if membership.end_date is not None:
        overlapping = overlapping.filter(start_date__lte=membership.end_date)
    other = overlapping.order_by("start_date").first()
    if other is not None:
        field = "start_date" if "start_date" in changed else "end_date"
        raise ValidationError(
            {
                field: f"This overlaps their stay from {other.start_date:%d/%m/%Y} to "
                f"{_d(other.end_date)}: a person's stays on a case may not overlap"
            }
        )
    stays = [*others.filter(relationship=Membership.Relationship.CHILD), membership]
    for plan in ChildProtectionPlan.objects.filter(
        case_id=membership.case_id, child_id=membership.person_id, in_error=False
    ):
        if not any(
            stay.relationship == Membership.Relationship.CHILD
            and stay.start_date <= plan.start_date
            and (stay.end_date is None or stay.end_date >= plan.start_date)
            for stay in stays
        ):
            field = "relationship" if "relationship" in changed else "start_date"
            raise ValidationError(
                {
                    field: f"Their child protection plan started on "
                    f"{plan.start_date:%d/%m/%Y}: they must stay on this case as a child "
                    "on that day"
                }
            )

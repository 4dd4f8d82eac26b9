"""Written agreements with a family, and the times one was not kept (R10, R11)."""

import datetime
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import policy
from accounts.models import User
from common.concurrency import check_version, version_of
from safeguarding.workdays import add_working_days

from .. import signals
from ..models import AgreementBreach, Case, Person, WrittenAgreement
from .base import _assign, _not_future, _require_not_in_error, _require_open, _save

# --- Written agreements ---------------------------------------------------------------

AGREEMENT_FIELDS = (
    "unacceptable_behaviour",
    "family_agrees",
    "consequences",
    "consequence_other",
    "agreed_on",
    "review_due",
)


def agreement_review_due(agreed_on: datetime.date) -> datetime.date:
    """When an agreement made on `agreed_on` is due for review: the setting's number of
    working days after it."""
    return add_working_days(agreed_on, settings.WRITTEN_AGREEMENT_REVIEW_WORKING_DAYS)


def _validate(agreement: WrittenAgreement) -> None:
    errors = {}
    if not agreement.unacceptable_behaviour:
        errors["unacceptable_behaviour"] = "Enter exactly what behaviour is not acceptable"
    if not agreement.family_agrees:
        errors["family_agrees"] = "Enter what the family agrees to do"
    consequences = list(agreement.consequences)
    if not consequences:
        errors["consequences"] = "Select what follows if the agreement is not kept"
    elif set(consequences) - set(WrittenAgreement.Consequence.values):
        errors["consequences"] = "Select from the consequences listed"
    elif WrittenAgreement.Consequence.OTHER in consequences and not agreement.consequence_other:
        errors["consequence_other"] = "Enter the other consequence"
    if agreement.review_due < agreement.agreed_on:
        errors["review_due"] = "The review must be on or after the date it was agreed"
    if errors:
        raise ValidationError(errors)
    if WrittenAgreement.Consequence.OTHER not in consequences:
        agreement.consequence_other = ""


def _people_on(case: Case, people: Iterable[Person]) -> list[Person]:
    people = list(people)
    on_case = set(
        case.memberships.filter(in_error=False, person__in=people).values_list(
            "person_id", flat=True
        )
    )
    if any(p.pk not in on_case for p in people):
        raise ValidationError({"agreed_by": "Select people on this case"})
    return people


@transaction.atomic
def agreement_create(
    *,
    actor: User,
    case: Case,
    unacceptable_behaviour: str,
    family_agrees: str,
    consequences: Iterable[str],
    agreed_on: datetime.date,
    agreed_by: Iterable[Person] = (),
    consequence_other: str = "",
    review_due: datetime.date | None = None,
    now: datetime.datetime | None = None,
) -> WrittenAgreement:
    now = now or timezone.now()
    if not policy.can_edit_case(actor, case):
        raise PermissionDenied
    _require_open(case, "recording a written agreement")
    _not_future(agreed_on, now, "agreed_on", "The date it was agreed")
    people = _people_on(case, agreed_by)
    agreement = WrittenAgreement(
        case=case,
        unacceptable_behaviour=unacceptable_behaviour.strip(),
        family_agrees=family_agrees.strip(),
        consequences=list(dict.fromkeys(consequences)),
        consequence_other=consequence_other.strip(),
        agreed_on=agreed_on,
        review_due=review_due or agreement_review_due(agreed_on),
        created_at=now,
        created_by=actor,
    )
    _validate(agreement)
    _save(agreement, actor)
    agreement.agreed_by.set(people)
    signals.agreement_made.send(sender=WrittenAgreement, agreement=agreement, actor=actor, now=now)
    return agreement


def agreement_version(agreement: WrittenAgreement) -> str:
    """The version of an agreement that its edit form starts from."""
    return version_of(agreement)


@transaction.atomic
def agreement_update(
    *,
    actor: User,
    agreement: WrittenAgreement,
    version: str | None = None,
    agreed_by: Iterable[Person] | None = None,
    now: datetime.datetime | None = None,
    **fields: Any,
) -> WrittenAgreement:
    """Correct an agreement as it was recorded. What is not given is kept. Nothing
    changed, nothing saved."""
    now = now or timezone.now()
    if not policy.can_edit_case(actor, agreement.case):
        raise PermissionDenied
    _require_open(agreement.case, "correcting its written agreements")
    unknown = set(fields) - set(AGREEMENT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown agreement fields: {sorted(unknown)}")
    agreement = WrittenAgreement.objects.select_for_update().get(pk=agreement.pk)
    check_version(version, [agreement], what="this written agreement")
    _require_not_in_error(agreement)
    values = {k: v.strip() if isinstance(v, str) else v for k, v in fields.items()}
    if "consequences" in values:
        values["consequences"] = list(dict.fromkeys(values["consequences"]))
    agreed_on = values.get("agreed_on")
    if isinstance(agreed_on, datetime.date):
        _not_future(agreed_on, now, "agreed_on", "The date it was agreed")
    changed = _assign(agreement, **values)
    people_changed = False
    if agreed_by is not None:
        people = _people_on(agreement.case, agreed_by)
        people_changed = {p.pk for p in people} != set(
            agreement.agreed_by.values_list("pk", flat=True)
        )
    if not changed and not people_changed:
        return agreement
    _validate(agreement)
    if agreement.ended_on is not None and agreement.ended_on < agreement.agreed_on:
        raise ValidationError({"agreed_on": "It ended before this date"})
    _save(agreement, actor)
    if people_changed:
        agreement.agreed_by.set(people)
    signals.record_corrected.send(sender=WrittenAgreement, instance=agreement, actor=actor, now=now)
    return agreement


@transaction.atomic
def agreement_end(
    *,
    actor: User,
    agreement: WrittenAgreement,
    ended_on: datetime.date,
    reason: str,
    now: datetime.datetime | None = None,
) -> WrittenAgreement:
    now = now or timezone.now()
    if not policy.can_edit_case(actor, agreement.case):
        raise PermissionDenied
    _require_open(agreement.case, "ending a written agreement")
    agreement = WrittenAgreement.objects.select_for_update().get(pk=agreement.pk)
    _require_not_in_error(agreement)
    if agreement.ended_on is not None:
        raise ValidationError("This written agreement has already ended")
    _not_future(ended_on, now, "ended_on", "The date it ended")
    if ended_on < agreement.agreed_on:
        raise ValidationError(
            {"ended_on": f"The end must be on or after {agreement.agreed_on:%d/%m/%Y}"}
        )
    if not reason.strip():
        raise ValidationError({"reason": "Enter why the agreement ended"})
    agreement.ended_on = ended_on
    agreement.end_reason = reason.strip()
    _save(agreement, actor)
    signals.agreement_ended.send(sender=WrittenAgreement, agreement=agreement, actor=actor, now=now)
    return agreement


@transaction.atomic
def agreement_breach_record(
    *,
    actor: User,
    agreement: WrittenAgreement,
    occurred_on: datetime.date,
    what_happened: str,
    visit: Any = None,
    now: datetime.datetime | None = None,
) -> AgreementBreach:
    """Record that the agreement was not kept, by hand or from a visit to the case
    (`visit`, a visits.Visit: cases does not import visits)."""
    now = now or timezone.now()
    if not policy.can_edit_case(actor, agreement.case):
        raise PermissionDenied
    _require_open(agreement.case, "recording a breach of its written agreement")
    agreement = WrittenAgreement.objects.select_for_update().get(pk=agreement.pk)
    _require_not_in_error(agreement)
    if visit is not None and (visit.case_id != agreement.case_id or visit.in_error):
        raise ValidationError({"visit": "Select a visit to this case"})
    _not_future(occurred_on, now, "occurred_on", "The date it happened")
    if occurred_on < agreement.agreed_on:
        raise ValidationError(
            {"occurred_on": f"The agreement was made on {agreement.agreed_on:%d/%m/%Y}"}
        )
    if agreement.ended_on is not None and occurred_on > agreement.ended_on:
        raise ValidationError(
            {"occurred_on": f"The agreement ended on {agreement.ended_on:%d/%m/%Y}"}
        )
    if not what_happened.strip():
        raise ValidationError({"what_happened": "Enter what happened"})
    breach = AgreementBreach(
        agreement=agreement,
        occurred_on=occurred_on,
        what_happened=what_happened.strip(),
        visit=visit,
        created_at=now,
        created_by=actor,
    )
    _save(breach, actor)
    signals.agreement_breached.send(sender=AgreementBreach, breach=breach, actor=actor, now=now)
    return breach


def agreement_in_force(case: Case) -> WrittenAgreement | None:
    """The newest agreement in force on the case (not ended, not in error)."""
    return case.agreements.filter(ended_on__isnull=True, in_error=False).first()


__all__ = [
    "AGREEMENT_FIELDS",
    "agreement_breach_record",
    "agreement_create",
    "agreement_end",
    "agreement_in_force",
    "agreement_review_due",
    "agreement_update",
    "agreement_version",
]

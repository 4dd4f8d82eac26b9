"""Opening, changing, allocating, restricting, closing and reopening a case."""

import datetime
from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts import policy
from accounts.models import Team, User
from common.concurrency import check_version, version_of

from .. import signals
from ..models import Case, CaseReferenceCounter, ChildProtectionPlan
from .base import _acting, _assign, _not_future, _require_open, _save, _today

# --- Case -----------------------------------------------------------------------------


def next_case_reference(year: int) -> str:
    """Issue the next reference of a year, safely when many cases are opened at once.

    One upsert statement increments the year's counter and returns the new number,
    so two transactions never get the same one (the row lock serialises them).
    """
    table = CaseReferenceCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (year, last_number) VALUES (%s, 1) "
            f"ON CONFLICT (year) DO UPDATE SET last_number = {table}.last_number + 1 "
            "RETURNING last_number",
            [year],
        )
        (number,) = cursor.fetchone()
    return f"SG-{year}-{number:05d}"


def _check_workers(workers: list[User], team: Team, field: str) -> None:
    """Allocated workers: people who may hold cases (`policy.can_hold_cases`), of the
    case's team."""
    for worker in workers:
        if not policy.can_hold_cases(worker):
            raise ValidationError(
                {field: f"{worker} cannot be allocated cases: allocate a social worker"}
            )
        if worker.team_id != team.pk:
            raise ValidationError({field: f"{worker} is not in {team}"})


@transaction.atomic
def case_create(
    *,
    actor: User,
    family_name: str,
    team: Team | None,
    summary: str,
    opened_on: datetime.date,
    allocated_workers: Iterable[User] = (),
    restricted: bool = False,
    restricted_to: Iterable[User] = (),
    now: datetime.datetime | None = None,
) -> Case:
    now = now or timezone.now()
    if team is None:
        raise ValidationError({"team": "Choose the team the case belongs to"})
    if not policy.can_open_case_in(actor, team):
        raise PermissionDenied(f"You cannot open cases in {team}")
    _not_future(opened_on, now, "opened_on", "The date the case opened")
    workers = list(allocated_workers)
    _check_workers(workers, team, "allocated_workers")
    case = Case(
        reference=next_case_reference(opened_on.year),
        family_name=family_name.strip(),
        team=team,
        summary=summary.strip(),
        opened_on=opened_on,
        restricted=restricted,
        created_at=now,
        created_by=actor,
    )
    _save(case, actor)
    case.allocated_workers.set(workers)
    if restricted:
        # The people who open and work a restricted case can always see it.
        case.restricted_to.set({*restricted_to, *workers, actor})
    _save(case, actor)
    signals.case_opened.send(sender=Case, case=case, actor=actor, now=now)
    return case


def case_version(case: Case) -> str:
    """The version of a case's details that its edit form starts from."""
    return version_of(case)


@transaction.atomic
def case_update(
    *,
    actor: User,
    case: Case,
    family_name: str,
    summary: str,
    version: str | None = None,
    now: datetime.datetime | None = None,
) -> Case:
    """Change the family name or the summary of concerns. Nothing changed, nothing saved."""
    if not policy.can_edit_case(actor, case):
        raise PermissionDenied
    _require_open(case, "changing its details")
    case = Case.objects.select_for_update().get(pk=case.pk)
    check_version(version, [case], what="this case's details")
    if not family_name.strip():
        raise ValidationError({"family_name": "Enter the family name"})
    if _assign(case, family_name=family_name.strip(), summary=summary.strip()):
        _save(case, actor)
    return case


@transaction.atomic
def case_allocate(
    *, actor: User, case: Case, workers: Iterable[User], now: datetime.datetime | None = None
) -> Case:
    """Set who is allocated: at least one social worker, of the case's team. The same
    people again changes nothing."""
    if not policy.can_allocate_case(actor, case):
        raise PermissionDenied("Only a manager can allocate workers")
    _require_open(case, "allocating workers")
    case = Case.objects.select_for_update().get(pk=case.pk)
    workers = list({w.pk: w for w in workers}.values())
    if not workers:
        raise ValidationError(
            {"workers": "Select at least one worker: a case is never left unallocated"}
        )
    _check_workers(workers, case.team, "workers")
    if {w.pk for w in workers} == set(case.allocated_workers.values_list("pk", flat=True)):
        return case
    _acting(case, actor)
    case.allocated_workers.set(workers)
    if case.restricted:
        case.restricted_to.add(*workers)
    return _save(case, actor)


@transaction.atomic
def case_set_restriction(
    *,
    actor: User,
    case: Case,
    restricted: bool,
    named_users: Iterable[User],
    now: datetime.datetime | None = None,
) -> Case:
    if not policy.can_manage_restriction(actor, case):
        raise PermissionDenied("Only a manager can change who may see a case")
    case = Case.objects.select_for_update().get(pk=case.pk)
    named = set(named_users)
    if restricted:
        named |= set(case.allocated_workers.all())
        if actor not in named:
            named.add(actor)
    else:
        named = set()
    stored = set(case.restricted_to.values_list("pk", flat=True))
    if restricted == case.restricted and {u.pk for u in named} == stored:
        return case
    case.restricted = restricted
    _acting(case, actor)
    case.restricted_to.set(named)
    return _save(case, actor)


@transaction.atomic
def case_close(
    *,
    actor: User,
    case: Case,
    closed_on: datetime.date,
    reason: str,
    notes: str = "",
    now: datetime.datetime | None = None,
) -> Case:
    now = now or timezone.now()
    if not policy.can_close_case(actor, case):
        raise PermissionDenied("Only an allocated worker or a manager can close this case")
    case = Case.objects.select_for_update().get(pk=case.pk)
    if not case.is_open:
        raise ValidationError("This case is already closed")
    _not_future(closed_on, now, "closed_on", "The closing date")
    if closed_on < case.opened_on:
        raise ValidationError(
            {
                "closed_on": "The closing date must be on or after the date "
                f"the case opened ({case.opened_on:%d/%m/%Y})"
            }
        )
    if reason not in Case.ClosureReason.values:
        raise ValidationError({"reason": "Select why the case is closing"})
    open_plans = ChildProtectionPlan.objects.filter(
        case=case, end_date__isnull=True, in_error=False
    )
    if open_plans.exists():
        raise ValidationError("End the child protection plans on this case before closing it")
    case.status = Case.Status.CLOSED
    case.closed_on = closed_on
    case.closure_reason = reason
    case.closure_notes = notes.strip()
    _save(case, actor)
    signals.case_closed.send(sender=Case, case=case, actor=actor, now=now)
    return case


@transaction.atomic
def case_reopen(
    *, actor: User, case: Case, reason: str, now: datetime.datetime | None = None
) -> Case:
    now = now or timezone.now()
    if not policy.can_reopen_case(actor, case):
        raise PermissionDenied("Only a manager can reopen a case")
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.is_open:
        raise ValidationError("This case is already open")
    if not reason.strip():
        raise ValidationError({"reason": "Enter why the case is being reopened"})
    case.status = Case.Status.OPEN
    case.closure_notes = (
        f"{case.closure_notes}\n\nReopened {_today(now):%d/%m/%Y}: {reason.strip()}".strip()
    )
    case.closed_on = None
    case.closure_reason = ""
    _save(case, actor, reason=f"Reopened: {reason.strip()}")
    signals.case_reopened.send(sender=Case, case=case, actor=actor, now=now)
    return case

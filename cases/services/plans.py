"""Child protection plans."""

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
from .base import _assign, _not_future, _require_not_in_error, _require_open, _save

# --- Child protection plans -----------------------------------------------------------


@transaction.atomic
def plan_start(
    *,
    actor: User,
    case: Case,
    child: Person,
    category: str,
    start_date: datetime.date,
    now: datetime.datetime | None = None,
) -> ChildProtectionPlan:
    now = now or timezone.now()
    if not policy.can_edit_case(actor, case):
        raise PermissionDenied
    _require_open(case, "starting a plan")
    _not_future(start_date, now, "start_date", "The plan start date")
    # Lock the child so two plans cannot start for them at once.
    Person.objects.select_for_update().get(pk=child.pk)
    if not Membership.objects.filter(
        Membership.active_on_q(start_date),
        case=case,
        person=child,
        relationship=Membership.Relationship.CHILD,
    ).exists():
        raise ValidationError(
            {"child": "A plan can only start for a child on this case on the start date"}
        )
    plans = ChildProtectionPlan.objects.filter(child=child, in_error=False)
    if plans.filter(end_date__isnull=True).exists():
        raise ValidationError({"child": f"{child.full_name} is already subject to a plan"})
    if plans.filter(end_date__gte=start_date).exists():
        raise ValidationError({"start_date": "This overlaps an earlier plan for this child"})
    plan = ChildProtectionPlan(case=case, child=child, category=category, start_date=start_date)
    _save(plan, actor)
    signals.plan_started.send(sender=ChildProtectionPlan, plan=plan, actor=actor, now=now)
    return plan


@transaction.atomic
def plan_end(
    *,
    actor: User,
    plan: ChildProtectionPlan,
    end_date: datetime.date,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> ChildProtectionPlan:
    now = now or timezone.now()
    if not policy.can_edit_case(actor, plan.case):
        raise PermissionDenied
    _require_open(plan.case, "ending a plan")
    plan = ChildProtectionPlan.objects.select_for_update().get(pk=plan.pk)
    _require_not_in_error(plan)
    if not plan.is_open:
        raise ValidationError("This plan has already ended")
    _not_future(end_date, now, "end_date", "The plan end date")
    if end_date < plan.start_date:
        raise ValidationError(
            {"end_date": f"The plan cannot end before it started ({plan.start_date:%d/%m/%Y})"}
        )
    plan.end_date = end_date
    plan.end_reason = reason.strip()
    _save(plan, actor)
    signals.plan_ended.send(sender=ChildProtectionPlan, plan=plan, actor=actor, now=now)
    return plan


PLAN_FIELDS = ("category", "start_date")


def plan_version(plan: ChildProtectionPlan) -> str:
    """The version of a plan that its edit form starts from."""
    return version_of(plan)


@transaction.atomic
def plan_update(
    *,
    actor: User,
    plan: ChildProtectionPlan,
    version: str | None = None,
    now: datetime.datetime | None = None,
    **fields: Any,
) -> ChildProtectionPlan:
    """Correct a plan's category or start date, by the rules a plan starts by: a child
    on this case that day, no overlap with another plan of theirs. What is not given is
    kept. An escalation already fired keeps the plan status it fired with. Nothing
    changed, nothing saved."""
    now = now or timezone.now()
    if not policy.can_edit_case(actor, plan.case):
        raise PermissionDenied
    _require_open(plan.case, "correcting its plans")
    unknown = set(fields) - set(PLAN_FIELDS)
    if unknown:
        raise TypeError(f"Unknown plan fields: {sorted(unknown)}")
    # The child first, as plan_start locks them.
    Person.objects.select_for_update().get(pk=plan.child_id)
    plan = (
        ChildProtectionPlan.objects.select_for_update(of=("self",))
        .select_related("child")
        .get(pk=plan.pk)
    )
    check_version(version, [plan], what=f"the plan for {plan.child.display_name}")
    _require_not_in_error(plan)
    changed = _assign(plan, **fields)
    if not changed:
        return plan
    if plan.category not in ChildProtectionPlan.Category.values:
        raise ValidationError({"category": "Select the category of abuse"})
    if "start_date" in changed:
        _check_plan_start(plan, now)
    _save(plan, actor)
    signals.record_corrected.send(sender=ChildProtectionPlan, instance=plan, actor=actor, now=now)
    return plan


def _check_plan_start(plan: ChildProtectionPlan, now: datetime.datetime) -> None:
    start = plan.start_date
    _not_future(start, now, "start_date", "The plan start date")
    if plan.end_date is not None and start > plan.end_date:
        raise ValidationError(
            {"start_date": f"The plan cannot start after it ended ({plan.end_date:%d/%m/%Y})"}
        )
    if not Membership.objects.filter(
        Membership.active_on_q(start),
        case_id=plan.case_id,
        person_id=plan.child_id,
        relationship=Membership.Relationship.CHILD,
    ).exists():
        raise ValidationError(
            {"start_date": "A plan can only start for a child on this case on the start date"}
        )
    others = ChildProtectionPlan.objects.filter(child_id=plan.child_id, in_error=False).exclude(
        pk=plan.pk
    )
    overlapping = others.filter(Q(end_date__isnull=True) | Q(end_date__gte=start))
    if plan.end_date is not None:
        overlapping = overlapping.filter(start_date__lte=plan.end_date)
    if overlapping.exists():
        raise ValidationError({"start_date": "This overlaps another plan for this child"})

"""Child protection plans."""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import policy
from accounts.models import User

from .. import signals
from ..models import Case, ChildProtectionPlan, Membership, Person
from .base import _not_future, _require_not_in_error, _require_open, _save

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

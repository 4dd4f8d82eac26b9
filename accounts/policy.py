"""The one access policy for cases (DESIGN.md section 3). Deny by default.

Who may see a case: members of the case's team (its workers, supervisors, business
support and its managers), its allocated workers, and service managers. A
restricted case only the users named on it. Inactive users see nothing.

Pages, the API and exports all go through `visible_cases` or `get_case_for`, so a
list can never show what a detail page would refuse. The policy knows the field
names of cases.Case but does not import it: accounts sits left of cases.
"""

from django.db.models import Q, QuerySet
from django.http import Http404

from . import roles


def case_visibility_q(user, prefix: str = "") -> Q | None:
    """The filter on Case (or on a model reaching it through `prefix`) for this user.

    None means the user can see nothing.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    p = f"{prefix}__" if prefix else ""
    restricted_ok = Q(**{f"{p}restricted": False}) | Q(**{f"{p}restricted_to": user})
    if user.has_role(roles.SERVICE_MANAGER):
        return restricted_ok
    if not user.role_names:
        return None
    reach = Q(**{f"{p}allocated_workers": user})
    if user.team_id is not None:
        reach |= Q(**{f"{p}team_id": user.team_id})
    return reach & restricted_ok


def visible_cases(user, queryset: QuerySet) -> QuerySet:
    """Narrow a queryset of cases to those the user may see."""
    q = case_visibility_q(user)
    if q is None:
        return queryset.none()
    # The joins on allocated workers and named users can repeat a case; an id
    # subquery keeps the outer query free of DISTINCT so it can order and slice.
    ids = queryset.model.objects.filter(q).values("pk")
    return queryset.filter(pk__in=ids)


def visible_related(user, queryset: QuerySet, case_path: str = "case") -> QuerySet:
    """Narrow a queryset of things that belong to a case (plans, hazards, addresses)."""
    q = case_visibility_q(user)
    if q is None:
        return queryset.none()
    case_model = queryset.model._meta.get_field(case_path.split("__")[0]).related_model
    return queryset.filter(**{f"{case_path}__in": case_model.objects.filter(q).values("pk")})


def can_view_case(user, case) -> bool:
    return visible_cases(user, type(case).objects.filter(pk=case.pk)).exists()


def get_case_for(user, queryset: QuerySet, pk):
    """The case if this user may see it; 404 whether it exists or not."""
    try:
        return visible_cases(user, queryset).get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No case found") from exc


def can_close_case(user, case) -> bool:
    """Allocated workers and managers close a case; only managers reopen one."""
    return can_view_case(user, case) and (
        user.is_manager or case.allocated_workers.filter(pk=user.pk).exists()
    )


def can_reopen_case(user, case) -> bool:
    return can_view_case(user, case) and user.is_manager


def can_allocate_case(user, case) -> bool:
    return can_view_case(user, case) and user.is_manager


def can_raise_escalation(user, case) -> bool:
    """Workers, supervisors and managers raise escalations; business support does not."""
    return can_view_case(user, case) and user.has_role(
        roles.SOCIAL_WORKER, roles.PRACTICE_SUPERVISOR, *roles.MANAGER_ROLES
    )


def can_manage_restriction(user, case) -> bool:
    return can_view_case(user, case) and user.is_manager


def can_edit_case(user, case) -> bool:
    """Everyone who may see a case may add to its record; changes keep who made them."""
    return can_view_case(user, case)

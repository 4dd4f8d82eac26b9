"""Reads of supervision records, always scoped to the user asking.

Who sees what (R9):
- a session, with the worker's wellbeing, is seen by its supervisee, its supervisor
  and their managers (team managers of either's team, and service managers);
- the discussion of a case, its actions and its decisions need the case too, under
  the one policy;
- decisions are part of the case record: everyone who may see the case sees them,
  never the session they came from.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404

from accounts import policy, roles
from accounts.models import User
from cases.models import Case
from cases.queries import case_has_child_on_plan, cases_for, children_plan_status

from . import rules
from .models import Action, CaseDiscussion, Decision, SupervisionSession


def sessions_for(user) -> QuerySet:
    q = policy.session_visibility_q(user)
    if q is None:
        return SupervisionSession.objects.none()
    return SupervisionSession.objects.filter(q)


def get_session(user, pk) -> SupervisionSession:
    try:
        return (
            sessions_for(user)
            .select_related(
                "supervisee",
                "supervisor",
                "signed_off_by",
                "cancelled_by",
                "most_worried_case",
                "least_worried_case",
                "rearranged_as",
            )
            .get(pk=pk)
        )
    except (SupervisionSession.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No supervision found") from exc


def discussions_for(user) -> QuerySet:
    q = policy.session_visibility_q(user, "session")
    if q is None:
        return CaseDiscussion.objects.none()
    return policy.visible_related(user, CaseDiscussion.objects.filter(q))


def decisions_for(user) -> QuerySet:
    """Decisions on the cases this user may see (the case record's rule)."""
    return policy.visible_related(user, Decision.objects.all())


def case_decisions(case: Case) -> QuerySet:
    """For a case page, whose case the policy has already let the user see."""
    return Decision.objects.filter(case=case).select_related("created_by", "discussion__session")


def actions_for(user) -> QuerySet:
    q = policy.session_visibility_q(user, "discussion__session")
    if q is None:
        return Action.objects.none()
    return policy.visible_related(user, Action.objects.filter(q | Q(owner=user)))


def my_actions(user) -> QuerySet:
    """Actions this user owns, not yet completed, soonest due first."""
    return (
        policy.visible_related(user, Action.objects.filter(owner=user))
        .exclude(status=Action.Status.COMPLETED)
        .select_related("case", "discussion__session__supervisor")
        .order_by("due_date", "id")
    )


# --- Frequency: overdue supervisions and CP cases not discussed ---------------------------


def supervisees_for(user) -> QuerySet:
    """The workers whose supervision this user watches: a supervisor's own supervisees
    (anyone they last supervised), a team manager's team, every worker for a service
    manager."""
    workers = User.objects.filter(
        is_active=True, groups__name__in=[roles.SOCIAL_WORKER, roles.PRACTICE_SUPERVISOR]
    ).exclude(pk=user.pk)
    if user.has_role(roles.SERVICE_MANAGER):
        return workers.distinct()
    q = Q(supervision_received__supervisor=user)
    if user.has_role(roles.TEAM_MANAGER) and user.team_id is not None:
        q |= Q(team_id=user.team_id)
    return workers.filter(q).distinct()


@dataclass
class SupervisionDue:
    worker: User
    last_held: datetime.date | None
    due: datetime.date
    overdue: bool
    days_overdue: int


def supervision_status(user, *, today: datetime.date) -> list[SupervisionDue]:
    """When each watched worker's formal supervision is due, most overdue first."""
    workers = (
        supervisees_for(user)
        .select_related("team")
        .annotate(
            last_held=Max(
                "supervision_received__date",
                filter=Q(
                    supervision_received__status=SupervisionSession.Status.HELD,
                    supervision_received__kind=SupervisionSession.Kind.FORMAL,
                ),
            )
        )
    )
    every = settings.SUPERVISION_FORMAL_EVERY_DAYS
    rows = []
    for worker in workers:
        due = rules.next_due(worker.last_held, since=worker.date_joined.date(), every_days=every)
        rows.append(
            SupervisionDue(
                worker,
                worker.last_held,
                due,
                rules.is_overdue(due, today),
                rules.days_overdue(due, today),
            )
        )
    return sorted(rows, key=lambda r: (r.due, r.worker.get_full_name()))


def overdue_supervisions(user, *, today: datetime.date) -> list[SupervisionDue]:
    return [row for row in supervision_status(user, today=today) if row.overdue]


@dataclass
class CaseDiscussionDue:
    case: Case
    last_discussed: datetime.date | None
    due: datetime.date
    days_overdue: int


def _watched_cases(user) -> QuerySet:
    """Open cases the user may see and watches: their team's, or a supervisor's
    supervisees' cases."""
    cases = cases_for(user).filter(status=Case.Status.OPEN)
    if user.has_role(roles.SERVICE_MANAGER):
        return cases
    q = Q(allocated_workers__in=supervisees_for(user).values("pk"))
    if user.has_role(roles.TEAM_MANAGER) and user.team_id is not None:
        q |= Q(team_id=user.team_id)
    return cases.filter(pk__in=Case.objects.filter(q).values("pk"))


def undiscussed_cp_cases(user, *, today: datetime.date) -> list[CaseDiscussionDue]:
    """Open cases with a child on a CP plan today not discussed in held supervision
    within the setting (from the plan's start if never), most overdue first."""
    every = settings.SUPERVISION_CP_CASE_EVERY_DAYS
    cases = (
        _watched_cases(user)
        .annotate(
            last_discussed=Max(
                "supervision_discussions__session__date",
                filter=Q(
                    supervision_discussions__session__status=SupervisionSession.Status.HELD,
                    supervision_discussions__session__date__lte=today,
                ),
            )
        )
        .order_by("reference")
    )
    rows = []
    for case in cases:
        if not case_has_child_on_plan(case.pk, today):
            continue
        starts = [plan.start_date for _, plan in children_plan_status(case, today=today) if plan]
        since = min(starts) if starts else case.opened_on
        due = rules.next_due(case.last_discussed, since=since, every_days=every)
        if rules.is_overdue(due, today):
            rows.append(
                CaseDiscussionDue(case, case.last_discussed, due, rules.days_overdue(due, today))
            )
    return sorted(rows, key=lambda r: r.due)


def cancellation_counts(user, *, since: datetime.date) -> list[dict]:
    """Cancelled sessions per supervisor since a date, among sessions the user sees."""
    return list(
        sessions_for(user)
        .filter(date__gte=since)
        .values("supervisor", "supervisor__first_name", "supervisor__last_name")
        .annotate(
            cancelled=Count("pk", filter=Q(status=SupervisionSession.Status.CANCELLED)),
            held=Count("pk", filter=Q(status=SupervisionSession.Status.HELD)),
        )
        .order_by("-cancelled", "supervisor__last_name")
    )

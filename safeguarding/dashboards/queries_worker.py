"""Reads for "My work": the cases a user is allocated to and what they must do next.

Everything here is scoped through accounts.policy, and every read is set-based: the
number of queries is the same for a worker with two cases as for one with forty. The
children's figures follow the case page's definitions (visits.queries
children_seen_status, visits.rules visit_interval and next_visit_due) for all the
user's cases at once; a child not yet born is listed with the day they are due and is
in no "not seen" figure (visits.rules).

"My cases" are the open cases the user is allocated to. Whatever their role, a user
opening "My work" sees their own allocations, visits, escalations on their cases,
supervision actions they own and their notifications; team-wide figures belong to
the manager dashboards.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Exists, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from accounts import policy
from accounts.models import Notification
from cases.models import Case, ChildProtectionPlan, Escalation, Membership, Person
from safeguarding.workdays import WorkingDayCalendar
from supervision import queries as supervision_queries
from supervision.models import Action
from visits import rules as visit_rules
from visits.models import ChildLastSeen, Visit

from .common import (
    DUE_SOON_WORKING_DAYS,
    Moment,
    defaulted_this_month_q,
    due_soon_by,
    hazard_now,
    moment,
    planned_this_week_q,
)

NOTIFICATIONS_SHOWN = 5


# --- My cases and their children ---------------------------------------------------------


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_date(day: datetime.date | None) -> str:
    """A date as the date filter "j M Y" writes it in English; blank for none."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}" if day else ""


@dataclass
class ChildStatus:
    """One child on one of my cases: as visits.queries.ChildSeenStatus, for many cases."""

    child: Person
    case: Case
    on_plan: bool
    last_seen: datetime.date | None
    last_seen_alone: datetime.date | None
    # None for a child not yet born: no visit is due to see them (visits.rules).
    next_due: datetime.date | None
    interval: int
    overdue: bool
    days_overdue: int
    unborn: bool = False

    @property
    def never_seen(self) -> bool:
        return self.last_seen is None

    # Dates as the page shows them ("6 Nov 2026"), formatted once here: the template's
    # date filter costs more than the rest of a row on a long caseload.
    @property
    def last_seen_label(self) -> str:
        return short_date(self.last_seen)

    @property
    def last_seen_alone_label(self) -> str:
        return short_date(self.last_seen_alone)

    @property
    def next_due_label(self) -> str:
        return short_date(self.next_due)

    @property
    def due_label(self) -> str:
        """When an unborn baby is due to be born."""
        return short_date(self.child.expected_date_of_birth)


@dataclass
class CaseRow:
    case: Case
    children: list[ChildStatus] = field(default_factory=list)
    on_plan: bool = False

    @property
    def next_due(self) -> datetime.date | None:
        return min((c.next_due for c in self.children if c.next_due is not None), default=None)


def my_cases_qs(user) -> QuerySet:
    """Open cases the user is allocated to and may see under the policy."""
    return policy.visible_cases(
        user, Case.objects.filter(allocated_workers=user, status=Case.Status.OPEN)
    )


def _current_children(today: datetime.date) -> QuerySet:
    """Memberships of children on the case today, as children_plan_status lists them,
    with what children_seen_status reads per child computed by subqueries."""
    seen = ChildLastSeen.objects.filter(case_id=OuterRef("case_id"), child_id=OuterRef("person_id"))
    joined = (
        Membership.objects.filter(
            case_id=OuterRef("case_id"),
            person_id=OuterRef("person_id"),
            in_error=False,
        )
        .order_by()
        .values("person_id")
    )
    plan_today = ChildProtectionPlan.objects.filter(
        ChildProtectionPlan.active_on_q(today), child_id=OuterRef("person_id")
    )
    return (
        Membership.objects.filter(
            Membership.active_on_q(today), relationship=Membership.Relationship.CHILD
        )
        .select_related("person")
        .annotate(
            last_seen_at=Subquery(seen.values("last_seen_at")),
            last_alone_at=Subquery(seen.values("last_alone_at")),
            joined_on=Subquery(joined.annotate(m=Min("start_date")).values("m")),
            on_plan=Exists(plan_today),
        )
        .order_by("person__date_of_birth", "id")
    )


def _my_cases(user, *, today: datetime.date) -> tuple[list[CaseRow], WorkingDayCalendar]:
    """My open cases, each with its current children's last seen, last seen alone and
    next visit due, the case with the child most overdue first (three queries); and the
    working-day calendar read for them (which covers today too)."""
    cases = list(
        my_cases_qs(user)
        .select_related("team", "visit_frequency")
        .annotate(
            escalation_overdue=Exists(
                Escalation.objects.filter(case=OuterRef("pk"), state=Escalation.State.OVERDUE)
            ),
            escalation_open=Exists(
                Escalation.objects.filter(case=OuterRef("pk"), state=Escalation.State.OPEN)
            ),
        )
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=_current_children(today),
                to_attr="current_child_memberships",
            )
        )
        .order_by("family_name", "reference")
    )
    pending = []
    for case in cases:
        for m in case.current_child_memberships:
            last = timezone.localdate(m.last_seen_at) if m.last_seen_at else None
            interval = visit_rules.visit_interval(case, child_on_plan=m.on_plan)
            start = visit_rules.seen_clock_start(
                last_seen=last,
                opened_on=case.opened_on,
                joined_on=m.joined_on,
                date_of_birth=m.person.date_of_birth,
                expected_date_of_birth=m.person.expected_date_of_birth,
                today=today,
            )
            pending.append((case, m, last, interval, start))
    calendar = WorkingDayCalendar.for_starts(
        [today, *(p[4] for p in pending if p[4] is not None)],
        max([DUE_SOON_WORKING_DAYS, *(p[3] for p in pending)]),
    )
    rows = {case.pk: CaseRow(case) for case in cases}
    for case, m, last, interval, start in pending:
        due = visit_rules.next_visit_due(start, interval=interval, calendar=calendar)
        row = rows[case.pk]
        row.on_plan = row.on_plan or m.on_plan
        row.children.append(
            ChildStatus(
                child=m.person,
                case=case,
                on_plan=m.on_plan,
                last_seen=last,
                last_seen_alone=timezone.localdate(m.last_alone_at) if m.last_alone_at else None,
                next_due=due,
                interval=interval,
                overdue=visit_rules.overdue(due, today),
                days_overdue=max((today - due).days, 0) if due is not None else 0,
                unborn=start is None,
            )
        )
    far = datetime.date.max
    return sorted(
        rows.values(), key=lambda r: (r.next_due or far, r.case.family_name, r.case.reference)
    ), calendar


def children_out_of_view(rows: list[CaseRow]) -> list[ChildStatus]:
    """Children past the date they had to be seen by, longest overdue first."""
    children = [c for row in rows for c in row.children if c.overdue]
    return sorted(children, key=lambda c: (c.next_due, c.case.reference, c.child.pk))


# --- Visits -------------------------------------------------------------------------------


@dataclass
class WeekVisits:
    earlier: list[Visit]
    today: list[Visit]
    later: list[Visit]

    @property
    def count(self) -> int:
        return len(self.earlier) + len(self.today) + len(self.later)


def _my_case_ids(user, case_ids: list[int] | None) -> list[int]:
    """The ids of my open cases: given (already read for the page), or read now.

    A list of ids rather than a subquery lets PostgreSQL combine the indexes on visits
    (by lead worker, by joint worker, by case) instead of scanning every visit.
    """
    if case_ids is not None:
        return case_ids
    return list(my_cases_qs(user).values_list("pk", flat=True))


def visits_this_week(user, m: Moment, *, case_ids: list[int] | None = None) -> WeekVisits:
    """Visits still planned this week (Monday to Sunday) that the user leads or joins,
    or on their open cases: earlier this week (the outcome is not yet recorded), today,
    and later this week."""
    today = m.today
    visits = (
        policy.visible_related(
            user,
            Visit.objects.filter(
                Q(lead_worker=user)
                | Q(joint_worker=user)
                | Q(case_id__in=_my_case_ids(user, case_ids)),
                planned_this_week_q(m),
            ),
        )
        .select_related("case", "lead_worker", "joint_worker", "joint_agency")
        .annotate(has_hazard=hazard_now(m, "case_id"))
        .order_by("planned_for", "id")
    )
    result = WeekVisits([], [], [])
    for visit in visits:
        day = timezone.localdate(visit.planned_for)
        (result.earlier if day < today else result.today if day == today else result.later).append(
            visit
        )
    return result


@dataclass
class CaseDefaults:
    case: Case
    visits: list[Visit]


def defaulted_this_month(
    user, m: Moment, *, case_ids: list[int] | None = None
) -> list[CaseDefaults]:
    """Visits to my open cases the family defaulted this calendar month, by case
    (most defaults first). Visits marked recorded in error do not count."""
    visits = (
        Visit.objects.filter(defaulted_this_month_q(m), case_id__in=_my_case_ids(user, case_ids))
        .select_related("case")
        .order_by("case__family_name", "case__reference", "occurred_at", "id")
    )
    by_case: dict[int, CaseDefaults] = {}
    for visit in visits:
        by_case.setdefault(visit.case_id, CaseDefaults(visit.case, [])).visits.append(visit)
    return sorted(by_case.values(), key=lambda d: -len(d.visits))


# --- Escalations, supervision actions, notifications -----------------------------------


@dataclass
class EscalationRow:
    escalation: Escalation
    overdue: bool
    due_today: bool
    due_soon: bool


def open_escalations(
    user, *, today: datetime.date, calendar: WorkingDayCalendar | None = None
) -> list[EscalationRow]:
    """Open and overdue escalations on my open cases, soonest deadline first; due soon
    means within DUE_SOON_WORKING_DAYS working days."""
    from cases.queries import escalations_for

    soon = due_soon_by(today, calendar)
    return [
        EscalationRow(
            e,
            overdue=e.is_overdue(today),
            due_today=e.due_date == today,
            due_soon=today < e.due_date <= soon,
        )
        for e in escalations_for(user, scope="mine").filter(case__status=Case.Status.OPEN)
    ]


def my_actions(user, *, today: datetime.date) -> list[Action]:
    """Supervision actions the user owns, not completed, soonest due first; each marked
    `overdue` by the action's own rule."""
    actions = list(supervision_queries.my_actions(user))
    for action in actions:
        action.overdue = action.is_overdue(today)
    return actions


def unread_notifications(user, *, limit: int = NOTIFICATIONS_SHOWN) -> list[Notification]:
    """The user's latest unread in-app notifications."""
    return list(
        Notification.objects.filter(
            recipient=user, channel=Notification.Channel.IN_APP, read_at__isnull=True
        ).order_by("-created_at", "-id")[:limit]
    )


# --- The page -------------------------------------------------------------------------------


@dataclass
class MyWork:
    today: datetime.date
    week_start: datetime.date
    week_end: datetime.date
    cases: list[CaseRow]
    out_of_view: list[ChildStatus]
    visits: WeekVisits
    defaults: list[CaseDefaults]
    escalations: list[EscalationRow]
    actions: list[Action]
    notifications: list[Notification]

    @property
    def visit_groups(self) -> list[tuple[str, list[Visit], str]]:
        """Heading, visits and what to say when there are none (blank: leave it out)."""
        return [
            ("Earlier this week: outcome not recorded", self.visits.earlier, ""),
            ("Today", self.visits.today, "No visits planned today."),
            ("Later this week", self.visits.later, "No more visits planned this week."),
        ]

    @property
    def children_count(self) -> int:
        return sum(len(row.children) for row in self.cases)

    @property
    def defaults_count(self) -> int:
        return sum(len(d.visits) for d in self.defaults)

    @property
    def escalations_overdue(self) -> int:
        return sum(1 for e in self.escalations if e.overdue)

    @property
    def actions_overdue(self) -> int:
        return sum(1 for a in self.actions if a.overdue)


def my_work(user, *, now: datetime.datetime) -> MyWork:
    """Everything on "My work" for this user at `now`, in a fixed number of queries."""
    m = moment(now)
    today = m.today
    cases, calendar = _my_cases(user, today=today)
    case_ids = [row.case.pk for row in cases]
    return MyWork(
        today=today,
        week_start=m.week_start,
        week_end=m.week_end,
        cases=cases,
        out_of_view=children_out_of_view(cases),
        visits=visits_this_week(user, m, case_ids=case_ids),
        defaults=defaulted_this_month(user, m, case_ids=case_ids),
        escalations=open_escalations(user, today=today, calendar=calendar),
        actions=my_actions(user, today=today),
        notifications=unread_notifications(user),
    )

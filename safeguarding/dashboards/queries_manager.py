"""Reads for the team manager's and the service manager's dashboards.

The case and escalation figures are counted by set-based queries grouped by team;
the children figures by the visiting rule's own functions over one read of the
children in scope (`child_rows`). The team page and the service page (teams side by
side) ask the same questions, and the number of queries does not grow with the number
of cases, children, visits or teams. Each figure has a list behind it, built from the
same filter or rows as its count.

Scope: cases the user may see under the one policy (accounts.policy), open, of the
team asked for (a team manager's own team; any team for a service manager).

Definitions (where the issue is silent, decided here):
- "Child" is a current child membership (active today, not recorded in error) of
  an open case; on a CP plan when the child has a plan active today, whatever case
  it was recorded under (as cases.queries); otherwise a child in need. Children
  are counted once per team even when on two of its cases; a case is "CP" when
  any current child on it is on a plan.
- Escalations: "open" is active (open or overdue state) with a deadline not yet
  passed; "overdue" is active with the deadline passed (the stored state, or a
  deadline the sweep has not reached yet); "due within 2 working days" is open and
  due by working day 2 counting today as day 0; "met late this quarter" was met
  late on a date in this calendar quarter (which is also the financial quarter).
  Escalations are counted on every case the user may see in the team, open or
  closed.
- Not seen within policy: exactly the case page's rule (visits.queries
  children_seen_status), worked out by the same functions (visits.rules
  visit_interval and next_visit_due): next due is the visiting interval in working
  days (the case's own, else the CP or CIN setting) after the child was last seen
  (visits.last_seen), or after the latest of the child joining the case, the case
  opening and the child's birth; overdue when that date is before today.
- Not seen alone at any of the last 3 visits: visits.last_seen's "seen alone at one
  of the last three": counted when the child has had a completed visit on the case
  and none of the (up to) three latest saw them alone.
- A child not yet born (no birth date recorded, a due date recorded) is in neither
  "not seen" figure nor their lists (visits.rules); they are counted among the
  children, and among those on a plan when a pre-birth plan is active.
- Defaulted visits this month: defaults not recorded in error that happened in
  this calendar month (local time) on open cases.
- Workload: active members of the team who are social workers or practice
  supervisors, and anyone allocated to one of its open cases; cases allocated,
  their current children, and those of them on plans.
- Supervision overdue: formal supervision as supervision.queries and rules: due
  SUPERVISION_FORMAL_EVERY_DAYS after the last held formal session (or the day they
  joined); overdue the day after. For active social workers and practice
  supervisors of the team.
- Hazards with a visit this week: open cases with a hazard active today on the case
  or on someone on it now, and a planned (not yet recorded) visit from Monday to
  Sunday of this week.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import TruncDate

from accounts import policy, roles
from accounts.models import Team, User
from cases.models import Case, ChildProtectionPlan, Escalation, Hazard, Membership
from cases.queries import cases_with_child_on_plan, child_on_plan_q, plans_active_on
from safeguarding.workdays import WorkingDayCalendar
from supervision.models import SupervisionSession
from visits import rules as visit_rules
from visits.models import Visit

from .common import (
    Moment,
    defaulted_this_month_q,
    due_soon_by,
    hazard_now,
    planned_this_week_q,
)

CASELOAD_ROLES = (roles.SOCIAL_WORKER, roles.PRACTICE_SUPERVISOR)


# --- Scope ---------------------------------------------------------------------------------


def is_dashboard_manager(user) -> bool:
    return policy.can_view_team_dashboard(user)


def teams_for(user) -> QuerySet:
    """Teams whose dashboard this user may open: all for a service manager, their own
    for a team manager, none for anyone else."""
    if not is_dashboard_manager(user):
        return Team.objects.none()
    if user.is_service_manager:
        return Team.objects.filter(active=True)
    return Team.objects.filter(pk=user.team_id)


def case_ids(user, m: Moment, team_id: int | None = None, *, open_only: bool = True):
    """The ids of the cases the figures are about: visible to the user, of the team
    (or of every team the user may open), open unless asked otherwise.

    For one team they are read once for the page (kept on `m`) and every figure asks
    about them as a list. The policy's "allocated to me or of my team" is an OR across
    a join: as a subquery the database cannot estimate it and plans every figure for
    one case; a list of a few hundred ids it estimates exactly, finds by the primary
    key, and the ORM builds each query without the policy's joins. Across the county
    they stay a subquery (twenty thousand ids are no list), and the figures ask it as
    sets.
    """
    if team_id is None:
        cases = policy.visible_cases(
            user, Case.objects.filter(team__in=teams_for(user).values("pk"))
        )
        if open_only:
            cases = cases.filter(status=Case.Status.OPEN)
        return cases.values("pk")
    key = ("team cases", user.pk, team_id)
    if key not in m.kept:
        m.kept[key] = list(_team_cases(user, team_id).values_list("pk", "status"))
    return [pk for pk, status in m.kept[key] if not open_only or status == Case.Status.OPEN]


def scoped_cases(
    user, m: Moment, team_id: int | None = None, *, open_only: bool = True
) -> QuerySet:
    """The cases of `case_ids`, for the figures that list or count cases."""
    return Case.objects.filter(pk__in=case_ids(user, m, team_id, open_only=open_only))


def _team_cases(user, team_id: int) -> QuerySet:
    """The team's cases the user may see, if the user may open the team's dashboard:
    the policy tested case by case (a look-up each, LIMIT 1 keeps it one)."""
    cases = Case.objects.filter(team__in=teams_for(user).values("pk"), team_id=team_id)
    visibility = policy.case_visibility_q(user)
    if visibility is None:
        return cases.none()
    visible = Case.objects.filter(visibility, pk=OuterRef("pk")).order_by().values("pk")[:1]
    return cases.alias(visible_pk=Subquery(visible)).filter(visible_pk__isnull=False)


# --- Building blocks -----------------------------------------------------------------------


def _children_on_plan(m: Moment) -> QuerySet:
    """Ids of children on a plan today. Uncorrelated, so the database reads it once."""
    return plans_active_on(m.today).values("child_id")


def _cases_with_child_on_plan(m: Moment) -> QuerySet:
    """Ids of cases with a current child on a plan today (cases.queries.child_on_plan_q)."""
    return cases_with_child_on_plan(m.today)


def _hazard_now(m: Moment, few: bool = False) -> Q:
    """A hazard active today on the case, or on someone on it today: for a team looked
    up case by case (common.hazard_now); across the county the sets are read once."""
    if few:
        return Q(hazard_now(m, "pk"))
    active = Hazard.objects.filter(Hazard.active_on_q(m.today))
    on_people = Membership.objects.filter(
        Membership.active_on_q(m.today),
        person_id__in=active.filter(person__isnull=False).values("person_id"),
    ).values("case_id")
    return Q(pk__in=active.filter(case__isnull=False).values("case_id")) | Q(pk__in=on_people)


def _planned_this_week(m: Moment) -> QuerySet:
    return Visit.objects.filter(planned_this_week_q(m), case=OuterRef("pk"))


def case_flags(m: Moment, few: bool = False) -> dict[str, Q]:
    """The case-level figures as filters on Case. For a team (`few` cases) each case is
    looked up; across the county the sets of ids are read once and hashed."""
    if few:
        on_plan = Q(
            Exists(ChildProtectionPlan.objects.filter(child_on_plan_q(m.today, OuterRef("pk"))))
        )
    else:
        on_plan = Q(pk__in=_cases_with_child_on_plan(m))
    return {
        "cases-cp": on_plan,
        "cases-cin": ~on_plan,
        # The hazard test is cheap and rare, so the visit look-up runs only behind it.
        "hazard-visits": _hazard_now(m, few) & Q(Exists(_planned_this_week(m))),
    }


@dataclass(slots=True)
class ChildRow:
    """One current child membership in scope, dated by the case page's rule."""

    membership_id: int
    team_id: int
    case_id: int
    person_id: int
    sort_name: tuple
    on_plan: bool
    interval: int
    last_seen: datetime.date | None
    last_seen_alone: datetime.date | None
    alone_in_last_three: bool | None
    # None for a child not yet born: no visit is due to see them (visits.rules).
    next_due: datetime.date | None
    overdue: bool
    unborn: bool = False

    @property
    def not_seen_alone(self) -> bool:
        """Had a completed visit, and none of the last three (or fewer) saw them alone."""
        return visit_rules.not_seen_alone_lately(self.alone_in_last_three, unborn=self.unborn)


def child_rows(ids, m: Moment, *, few: bool) -> list[ChildRow]:
    """The current children of the cases (`case_ids`), each with last seen and last seen alone
    (visits.last_seen), plan and visiting interval (visits.rules.visit_interval), and
    next visit due by visits.rules.next_visit_due: the case page's rule, worked out
    here for every child rather than restated in SQL. One query and one read of
    closure days. For a team (`few`) each child's plan is looked up by its index;
    across the county the plans are read once and hashed."""
    if few:
        on_plan = Exists(plans_active_on(m.today).filter(child_id=OuterRef("person_id")))
    else:
        on_plan = ExpressionWrapper(
            Q(person_id__in=_children_on_plan(m)), output_field=BooleanField()
        )
    facts = list(
        Membership.objects.filter(
            Membership.active_on_q(m.today),
            relationship=Membership.Relationship.CHILD,
            case_id__in=ids,
        )
        .annotate(
            seen=FilteredRelation(
                "person__last_seen_rows", condition=Q(person__last_seen_rows__case_id=F("case_id"))
            ),
            on_plan=on_plan,
            # Local dates, as the case page shows them, worked out by the database.
            last_seen=TruncDate("seen__last_seen_at"),
            last_alone=TruncDate("seen__last_alone_at"),
            joined=Subquery(
                Membership.objects.filter(
                    case_id=OuterRef("case_id"), person_id=OuterRef("person_id"), in_error=False
                )
                .order_by("start_date")
                .values("start_date")[:1]
            ),
        )
        .order_by()
        .values_list(
            "pk",
            "case__team_id",
            "case_id",
            "person_id",
            "person__last_name",
            "person__first_name",
            "on_plan",
            "case__visit_frequency__working_days",
            "case__opened_on",
            "joined",
            "last_seen",
            "last_alone",
            "seen__alone_in_last_three",
            "person__date_of_birth",
            "person__expected_date_of_birth",
        )
    )
    pending = []
    for (
        pk,
        team_id,
        case_id,
        person_id,
        last_name,
        first_name,
        plan,
        own,
        opened_on,
        joined,
        last,
        last_alone,
        alone_three,
        born,
        due_to_be_born,
    ) in facts:
        interval = visit_rules.interval_for(own, child_on_plan=plan)
        start = visit_rules.seen_clock_start(
            last_seen=last,
            opened_on=opened_on,
            joined_on=joined,
            date_of_birth=born,
            expected_date_of_birth=due_to_be_born,
            today=m.today,
        )
        pending.append(
            (
                (
                    pk,
                    team_id,
                    case_id,
                    person_id,
                    (last_name, first_name, pk),
                    plan,
                    interval,
                    last,
                    last_alone,
                    alone_three,
                ),
                start,
            )
        )
    calendar = WorkingDayCalendar.for_starts(
        [m.today, *(start for _, start in pending if start is not None)],
        max([0, *(fields[6] for fields, _ in pending)]),
    )
    rows = []
    for fields, start in pending:
        due = visit_rules.next_visit_due(start, interval=fields[6], calendar=calendar)
        rows.append(
            ChildRow(
                *fields,
                next_due=due,
                overdue=visit_rules.overdue(due, m.today),
                unborn=start is None,
            )
        )
    return rows


CHILD_FIGURES = {
    "children-cp": lambda r: r.on_plan,
    "children-cin": lambda r: not r.on_plan,
    "children-not-seen": lambda r: r.overdue,
    "children-not-seen-alone": lambda r: r.not_seen_alone,
}


class ChildList(Sequence):
    """The rows behind a children figure, for the paginator: the page's memberships are
    read (with person, case and team) only for the slice shown, and carry their row's
    dates."""

    def __init__(self, rows: list[ChildRow]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self[:])

    def __getitem__(self, index):
        if not isinstance(index, slice):
            index = range(len(self.rows))[index]  # IndexError past either end
            return self[index : index + 1][0]
        chosen = self.rows[index]
        found = Membership.objects.select_related("person", "case", "case__team").in_bulk(
            [r.membership_id for r in chosen]
        )
        page = []
        for r in chosen:
            membership = found[r.membership_id]
            for name in (
                "on_plan",
                "interval",
                "last_seen",
                "last_seen_alone",
                "next_due",
                "overdue",
                "unborn",
            ):
                setattr(membership, name, getattr(r, name))
            page.append(membership)
        return page


def escalations(user, m: Moment, team_id: int | None = None) -> QuerySet:
    return Escalation.objects.filter(case_id__in=case_ids(user, m, team_id, open_only=False))


def escalation_filters(m: Moment, due_soon_by: datetime.date) -> dict[str, Q]:
    active = Q(state__in=Escalation.ACTIVE_STATES)
    return {
        "escalations-open": active & Q(due_date__gte=m.today),
        "escalations-due-soon": active & Q(due_date__gte=m.today, due_date__lte=due_soon_by),
        "escalations-overdue": Escalation.overdue_q(m.today),
        "escalations-met-late": Q(
            state=Escalation.State.MET_LATE, met_on__gte=m.quarter_start, met_on__lte=m.today
        ),
    }


def defaulted_visits(ids, m: Moment) -> QuerySet:
    return Visit.objects.filter(defaulted_this_month_q(m), case_id__in=ids)


def _count_of(qs: QuerySet) -> Subquery:
    """The number of rows of a correlated queryset, as a subquery."""
    return Subquery(
        qs.order_by().annotate(n=Count("pk")).values("n")[:1], output_field=IntegerField()
    )


def workers(user, m: Moment, team_id: int | None = None) -> QuerySet:
    """Workers of the teams (or team): active social workers and practice supervisors
    who are members ("watched" for supervision), and anyone allocated to one of the
    cases; with their last formal supervision. Caseloads come from `with_caseloads`."""
    ids = case_ids(user, m, team_id)
    teams = teams_for(user).values("pk")
    members = Q(team__in=teams, is_active=True, groups__name__in=CASELOAD_ROLES)
    if team_id is not None:
        members &= Q(team_id=team_id)
    # Two id sets rather than an OR across the allocation join, which would join every
    # allocation in the county to every user before filtering.
    allocated = Case.allocated_workers.through.objects.filter(case_id__in=ids)
    ids = User.objects.filter(
        Q(pk__in=User.objects.filter(members).values("pk")) | Q(pk__in=allocated.values("user_id"))
    ).values("pk")
    return (
        User.objects.filter(pk__in=ids)
        .select_related("team")
        .annotate(
            last_supervised=Subquery(
                SupervisionSession.objects.filter(
                    supervisee=OuterRef("pk"),
                    status=SupervisionSession.Status.HELD,
                    kind=SupervisionSession.Kind.FORMAL,
                )
                .order_by()
                .values("supervisee")
                .annotate(last=Max("date"))
                .values("last")
            ),
            watched=Exists(User.objects.filter(Q(pk=OuterRef("pk")) & members)),
        )
        .order_by("team__name", "last_name", "first_name")
    )


def scope_children(user, m: Moment, team_id: int | None = None) -> list[ChildRow]:
    """`child_rows` of the cases in scope, read once for the page (kept on `m`): the
    children figures and the caseloads count from the same rows."""
    key = ("children", user.pk, team_id)
    if key not in m.kept:
        m.kept[key] = child_rows(case_ids(user, m, team_id), m, few=team_id is not None)
    return m.kept[key]


def with_caseloads(rows, user, m: Moment, team_id: int | None = None) -> list:
    """Each worker's cases, current children and children on plans, among the cases
    counted: the allocations in one query, the children from `scope_children`."""
    rows = list(rows)
    cases_of: dict[int, set] = {}
    for user_id, case_id in Case.allocated_workers.through.objects.filter(
        case_id__in=case_ids(user, m, team_id)
    ).values_list("user_id", "case_id"):
        cases_of.setdefault(user_id, set()).add(case_id)
    children: dict[int, set] = {}
    on_plan: dict[int, set] = {}
    for r in scope_children(user, m, team_id):
        children.setdefault(r.case_id, set()).add(r.person_id)
        if r.on_plan:
            on_plan.setdefault(r.case_id, set()).add(r.person_id)
    for w in rows:
        mine = cases_of.get(w.pk, set())
        w.cases_n = len(mine)
        w.children_n = len(set().union(*(children.get(c, ()) for c in mine)))
        w.children_cp_n = len(set().union(*(on_plan.get(c, ()) for c in mine)))
    return rows


def supervision_due(worker) -> datetime.date:
    """supervision.rules.next_due with the settings, as supervision.queries uses it."""
    from supervision import rules

    return rules.next_due(
        worker.last_supervised,
        since=worker.date_joined.date(),
        every_days=settings.SUPERVISION_FORMAL_EVERY_DAYS,
    )


# --- Figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    kind: str  # "cases", "children", "escalations", "visits", "workers"
    group: str
    hint: str = ""


FIGURES = [
    Figure("cases-cp", "Cases with a child on a CP plan", "cases", "caseload"),
    Figure(
        "cases-cin",
        "Child in need cases",
        "cases",
        "caseload",
        "No child on a child protection plan",
    ),
    Figure("children-cp", "Children on a CP plan", "children", "caseload"),
    Figure("children-cin", "Children in need", "children", "caseload"),
    Figure(
        "escalations-open",
        "Escalations open",
        "escalations",
        "escalations",
        "Deadline not yet passed",
    ),
    Figure("escalations-due-soon", "Due within 2 working days", "escalations", "escalations"),
    Figure("escalations-overdue", "Escalations overdue", "escalations", "escalations"),
    Figure("escalations-met-late", "Met late this quarter", "escalations", "escalations"),
    Figure("children-not-seen", "Children not seen within policy", "children", "children"),
    Figure(
        "children-not-seen-alone", "Not seen alone at their last 3 visits", "children", "children"
    ),
    Figure("defaulted-visits", "Defaulted visits this month", "visits", "children"),
    Figure("hazard-visits", "Cases with hazards and a visit this week", "cases", "children"),
    Figure("workload", "Workers", "workers", "workload"),
    Figure("supervision-overdue", "Supervision overdue", "workers", "workload"),
]
FIGURE_BY_KEY = {f.key: f for f in FIGURES}


def counts_by_team(
    user, m: Moment, team_id: int | None = None, *, worker_rows: list | None = None
) -> dict[str, dict[int, int]]:
    """{figure key: {team id: count}}, in a fixed number of queries. `worker_rows` are
    decorate_workers(workers(...)) when the caller has them already."""
    counts: dict[str, dict[int, int]] = {f.key: {} for f in FIGURES}
    counts["defaulted-cases"] = {}
    counts["children-total"] = {}
    counts["cases-total"] = {}
    cases = scoped_cases(user, m, team_id)
    flags = case_flags(m, few=team_id is not None)

    for row in (
        cases.order_by()
        .values("team_id")
        .annotate(
            total=Count("pk"),
            cp=Count("pk", filter=flags["cases-cp"]),
            hazard=Count("pk", filter=flags["hazard-visits"]),
        )
    ):
        t = row["team_id"]
        counts["cases-total"][t] = row["total"]
        counts["cases-cp"][t] = row["cp"]
        counts["cases-cin"][t] = row["total"] - row["cp"]
        counts["hazard-visits"][t] = row["hazard"]

    # Children are counted once per team even when on two of its cases; the two
    # "seen" figures count each child on each case.
    children: dict[int, set] = {}
    on_plan: dict[int, set] = {}
    ids = case_ids(user, m, team_id)
    for r in scope_children(user, m, team_id):
        children.setdefault(r.team_id, set()).add(r.person_id)
        if r.on_plan:
            on_plan.setdefault(r.team_id, set()).add(r.person_id)
        for key in ("children-not-seen", "children-not-seen-alone"):
            if CHILD_FIGURES[key](r):
                counts[key][r.team_id] = counts[key].get(r.team_id, 0) + 1
    for t, people in children.items():
        counts["children-total"][t] = len(people)
        counts["children-cp"][t] = len(on_plan.get(t, ()))
        counts["children-cin"][t] = len(people) - counts["children-cp"][t]

    filters = escalation_filters(m, due_soon_by(m.today))
    aggregates = {key.replace("-", "_"): Count("pk", filter=q) for key, q in filters.items()}
    for row in (
        escalations(user, m, team_id).order_by().values("case__team_id").annotate(**aggregates)
    ):
        for key in filters:
            counts[key][row["case__team_id"]] = row[key.replace("-", "_")]

    for row in (
        defaulted_visits(ids, m)
        .order_by()
        .values("case__team_id")
        .annotate(n=Count("pk"), cases=Count("case_id", distinct=True))
    ):
        counts["defaulted-visits"][row["case__team_id"]] = row["n"]
        counts["defaulted-cases"][row["case__team_id"]] = row["cases"]

    # Workers are few (hundreds in a county): the page lists them anyway, and the rule
    # functions decide who is overdue.
    if worker_rows is None:
        worker_rows = decorate_workers(workers(user, m, team_id), m)
        worker_rows = with_caseloads(worker_rows, user, m, team_id)
    for w in worker_rows:
        if w.watched:
            counts["workload"][w.team_id] = counts["workload"].get(w.team_id, 0) + 1
            if w.supervision_days_overdue:
                late = counts["supervision-overdue"]
                late[w.team_id] = late.get(w.team_id, 0) + 1
    return counts


# --- The lists behind the figures --------------------------------------------------------------


def figure_rows(user, m: Moment, key: str, team_id: int | None = None):
    """The rows behind one figure, for the page to paginate: a queryset, a list (the
    workers) or a ChildList (the children)."""
    cases = scoped_cases(user, m, team_id)
    if key in ("cases-cp", "cases-cin", "hazard-visits"):
        rows = (
            cases.filter(case_flags(m, few=team_id is not None)[key])
            .select_related("team")
            .annotate(
                children_n=Count(
                    "memberships",
                    distinct=True,
                    filter=Q(
                        Membership.active_on_q(m.today, prefix="memberships"),
                        memberships__relationship=Membership.Relationship.CHILD,
                    ),
                ),
                next_visit=Subquery(
                    _planned_this_week(m).order_by("planned_for").values("planned_for")[:1]
                ),
            )
        )
        if key == "hazard-visits":
            return rows.order_by("next_visit", "reference")
        return rows.order_by("family_name", "reference")
    if key in CHILD_FIGURES:
        rows = [r for r in scope_children(user, m, team_id) if CHILD_FIGURES[key](r)]
        if key == "children-not-seen":
            # Never seen first, then the longest since.
            rows.sort(key=lambda r: (r.last_seen is not None, r.last_seen or m.today, r.sort_name))
        else:
            rows.sort(key=lambda r: r.sort_name)
        return ChildList(rows)
    if key.startswith("escalations-"):
        q = escalation_filters(m, due_soon_by(m.today))[key]
        order = ("-met_on", "id") if key == "escalations-met-late" else ("due_date", "id")
        return (
            escalations(user, m, team_id)
            .filter(q)
            .select_related("case", "case__team")
            .annotate(
                overdue=ExpressionWrapper(
                    Escalation.overdue_q(m.today), output_field=BooleanField()
                )
            )
            .order_by(*order)
        )
    if key == "defaulted-visits":
        defaults = defaulted_visits(case_ids(user, m, team_id), m)
        return (
            cases.filter(pk__in=defaults.values("case_id"))
            .select_related("team")
            .annotate(
                defaults_n=_count_of(defaults.filter(case=OuterRef("pk")).values("case_id")),
                last_default=Subquery(
                    defaults.filter(case=OuterRef("pk"))
                    .order_by("-occurred_at")
                    .values("occurred_at")[:1]
                ),
            )
            .order_by("-defaults_n", "reference")
        )
    if key == "workload":
        rows = with_caseloads(workers(user, m, team_id), user, m, team_id)
        return sorted(rows, key=lambda w: (-w.cases_n, w.last_name, w.first_name, w.pk))
    if key == "supervision-overdue":
        # The rule decides who is overdue (supervision.rules), as the count does; the
        # never supervised first, then the longest since.
        rows = [
            w
            for w in decorate_workers(workers(user, m, team_id), m)
            if w.watched and w.supervision_days_overdue
        ]
        rows.sort(
            key=lambda w: (
                w.last_supervised is not None,
                w.last_supervised or datetime.date.min,
                w.last_name,
            )
        )
        return with_caseloads(rows, user, m, team_id)
    raise KeyError(key)


def decorate_workers(rows, m: Moment) -> list:
    from supervision import rules

    rows = list(rows)
    for w in rows:
        w.supervision_due = supervision_due(w)
        w.supervision_days_overdue = rules.days_overdue(w.supervision_due, m.today)
    return rows

"""Reads about visits. R5: for every child, last seen, last seen alone (visits.last_seen),
next visit due."""

import datetime
from dataclasses import dataclass

from django.db.models import Min
from django.utils import timezone

from cases import queries as case_queries
from cases.models import Case, Membership, Person
from safeguarding.workdays import WorkingDayCalendar

from . import rules
from .models import ChildLastSeen


@dataclass
class ChildSeenStatus:
    child: Person
    on_plan: bool
    last_seen: datetime.date | None
    last_seen_alone: datetime.date | None
    # None for a child not yet born: no visit is due to see them (visits.rules).
    next_due: datetime.date | None
    interval: int
    unborn: bool = False
    late: bool = False  # overdue on the day asked about

    def overdue(self, today: datetime.date) -> bool:
        return rules.overdue(self.next_due, today)


def children_seen_status(case: Case, *, today: datetime.date) -> list[ChildSeenStatus]:
    children = case_queries.children_plan_status(case, today=today)
    ids = [child.pk for child, _ in children]
    by_child = {
        row["child_id"]: row
        for row in ChildLastSeen.objects.filter(case=case, child_id__in=ids).values(
            "child_id", "last_seen_at", "last_alone_at"
        )
    }
    joined = dict(
        Membership.objects.filter(case=case, person_id__in=ids, in_error=False)
        .values("person_id")
        .annotate(first=Min("start_date"))
        .values_list("person_id", "first")
    )
    pending = []
    for child, plan in children:
        row = by_child.get(child.pk, {})
        last = row.get("last_seen_at")
        last_alone = row.get("last_alone_at")
        interval = rules.visit_interval(case, child_on_plan=plan is not None)
        last_day = timezone.localdate(last) if last else None
        start = rules.seen_clock_start(
            last_seen=last_day,
            opened_on=case.opened_on,
            joined_on=joined.get(child.pk),
            date_of_birth=child.date_of_birth,
            expected_date_of_birth=child.expected_date_of_birth,
            today=today,
        )
        pending.append((child, plan, last_day, last_alone, interval, start))
    # One read of closure days for every child's date, not one each.
    calendar = WorkingDayCalendar.for_starts(
        [p[5] for p in pending if p[5] is not None], max([p[4] for p in pending], default=0)
    )
    result = []
    for child, plan, last_day, last_alone, interval, start in pending:
        due = rules.next_visit_due(start, interval=interval, calendar=calendar)
        result.append(
            ChildSeenStatus(
                child=child,
                on_plan=plan is not None,
                last_seen=last_day,
                last_seen_alone=timezone.localdate(last_alone) if last_alone else None,
                next_due=due,
                interval=interval,
                unborn=start is None,
                late=rules.overdue(due, today),
            )
        )
    return result

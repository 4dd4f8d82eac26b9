"""What "My work" and the managers' dashboards share: the time the figures are about,
and the filters both ask (hazards active now, defaults this month, due soon)."""

import datetime
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from cases.models import Hazard, Membership
from safeguarding.workdays import WorkingDayCalendar
from visits.models import Visit

# An escalation is "due soon" when its deadline is within this many working days.
DUE_SOON_WORKING_DAYS = 2


def due_soon_by(today: datetime.date, calendar: WorkingDayCalendar | None = None) -> datetime.date:
    """The last deadline that is "due soon": DUE_SOON_WORKING_DAYS working days from
    today (`calendar`: one already read for the page)."""
    calendar = calendar or WorkingDayCalendar.for_starts([today], DUE_SOON_WORKING_DAYS)
    return calendar.add(today, DUE_SOON_WORKING_DAYS)


@dataclass(frozen=True)
class Moment:
    """Now, and the day, week, month and quarter the figures are about. One is made for
    each page (or task run); `kept` holds what the page reads once and several figures
    share, such as the cases in scope."""

    now: datetime.datetime
    today: datetime.date
    week_start: datetime.date
    month_start: datetime.date
    quarter_start: datetime.date
    kept: dict = field(default_factory=dict, compare=False, repr=False)

    def at(self, day: datetime.date) -> datetime.datetime:
        """Local midnight at the start of `day`."""
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))

    @property
    def week_end(self) -> datetime.date:
        return self.week_start + datetime.timedelta(days=6)

    @property
    def next_month_start(self) -> datetime.date:
        return (self.month_start + datetime.timedelta(days=32)).replace(day=1)


def moment(now: datetime.datetime | None = None) -> Moment:
    now = now or timezone.now()
    today = timezone.localdate(now)
    return Moment(
        now=now,
        today=today,
        week_start=today - datetime.timedelta(days=today.weekday()),
        month_start=today.replace(day=1),
        quarter_start=datetime.date(today.year, (today.month - 1) // 3 * 3 + 1, 1),
    )


def hazard_now(m: Moment, case_ref: str):
    """A hazard active today on the case whose id the outer row holds in `case_ref`, or
    on someone on that case today (as the case page's cases.queries.active_hazards).
    Two look-ups rather than one with an OR, so each can use its index."""
    active = Hazard.objects.filter(Hazard.active_on_q(m.today))
    people = Membership.objects.filter(
        Membership.active_on_q(m.today), case_id=OuterRef(OuterRef(case_ref))
    ).values("person_id")
    return Exists(active.filter(case_id=OuterRef(case_ref))) | Exists(
        active.filter(person_id__in=people)
    )


def planned_this_week_q(m: Moment) -> Q:
    """Visits still planned for Monday to Sunday of this week."""
    return Q(
        outcome=Visit.Outcome.PLANNED,
        in_error=False,
        planned_for__gte=m.at(m.week_start),
        planned_for__lt=m.at(m.week_start + datetime.timedelta(days=7)),
    )


def defaulted_this_month_q(m: Moment) -> Q:
    """Visits the family defaulted this calendar month (local time), not in error."""
    return Q(
        outcome=Visit.Outcome.DEFAULTED,
        in_error=False,
        occurred_at__gte=m.at(m.month_start),
        occurred_at__lt=m.at(m.next_month_start),
    )

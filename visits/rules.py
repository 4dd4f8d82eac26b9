"""R1: the defaulted-visits rule, and R5: when each child must next be seen.

Rules decide from rows they are given or read; they write nothing.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from cases.models import Case, Escalation
from safeguarding.workdays import add_working_days

from .models import Visit


def count_window_start(case: Case) -> datetime.date:
    """Defaults count from the case opening, or from the day after the last meeting that
    met a defaulted-visits escalation, or the day after the last one a manager
    cancelled fired, whichever is latest."""
    start = case.opened_on
    closed = Escalation.objects.filter(
        case=case,
        kind=Escalation.Kind.DEFAULTED_VISITS,
        state__in=[Escalation.State.MET, Escalation.State.MET_LATE, Escalation.State.CANCELLED],
    )
    for escalation in closed:
        if escalation.state == Escalation.State.CANCELLED:
            after = escalation.trigger_date
        else:
            after = escalation.met_on
        start = max(start, after + datetime.timedelta(days=1))
    return start


@dataclass(frozen=True)
class DefaultsVerdict:
    fires: bool
    count: int
    trigger_visit: Visit | None
    window_start: datetime.date

    @property
    def trigger_date(self) -> datetime.date | None:
        if self.trigger_visit is None:
            return None
        return timezone.localdate(self.trigger_visit.occurred_at)


def defaulted_visits_verdict(case: Case) -> DefaultsVerdict:
    """Does this case's record of defaulted visits call for an escalation now?

    The (threshold + 1)th default in the window, in the order they happened, fires;
    its date is day 0. A worker's cancellation is not a default, and visits marked
    recorded in error do not count.
    """
    # Checked before the count is read: an escalation closed by a meeting in between
    # is then seen closed by the count too, and its defaults do not fire another.
    active = Escalation.objects.filter(
        case=case, kind=Escalation.Kind.DEFAULTED_VISITS, state__in=Escalation.ACTIVE_STATES
    ).exists()
    start = count_window_start(case)
    window_start_at = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
    defaults = list(
        Visit.objects.filter(
            case=case,
            outcome=Visit.Outcome.DEFAULTED,
            in_error=False,
            occurred_at__gte=window_start_at,
        ).order_by("occurred_at", "id")
    )
    threshold = settings.DEFAULTED_VISITS_THRESHOLD
    if len(defaults) <= threshold:
        return DefaultsVerdict(False, len(defaults), None, start)
    return DefaultsVerdict(not active and case.is_open, len(defaults), defaults[threshold], start)


def visit_interval(case: Case, *, child_on_plan: bool) -> int:
    """Working days allowed between visits to a child: the case's own, or the policy."""
    override = getattr(case, "visit_frequency", None)
    return interval_for(
        override.working_days if override is not None else None, child_on_plan=child_on_plan
    )


def interval_for(case_own: int | None, *, child_on_plan: bool) -> int:
    """`visit_interval` from the case's own interval (None when it sets none), for
    reads that have the number rather than the case."""
    if case_own is not None:
        return case_own
    if child_on_plan:
        return settings.VISIT_EVERY_WORKING_DAYS_CP
    return settings.VISIT_EVERY_WORKING_DAYS_CIN


def next_visit_due(
    last_seen: datetime.date | None, *, opened_on: datetime.date, interval: int, calendar=None
) -> datetime.date:
    """Due `interval` working days after the child was last seen (or the case opened).
    `calendar` (a safeguarding.workdays.WorkingDayCalendar) dates many children with
    one read of closure days."""
    add = calendar.add if calendar is not None else add_working_days
    return add(last_seen or opened_on, interval)

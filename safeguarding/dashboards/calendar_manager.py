"""Working-day dates for the managers' dashboards, without a query per date.

`safeguarding.workdays.add_working_days` reads local closure days on every call,
which is right for one deadline and wrong for a page that needs a date per row or
per visiting interval: the number of queries would grow with the rows. This reads
the closure days of a window once and answers with the same calendar (the same
bank-holiday lookup, the same counting rule: the start is day 0, day 1 is the
first working day after it). Tests check it against `add_working_days`.
"""

import datetime

from accounts.models import ClosureDay
from safeguarding.workdays import _HolidayLookup

_DAY = datetime.timedelta(days=1)


class WorkingCalendar:
    """Working days between `first` and `last`, read with one query."""

    def __init__(self, first: datetime.date, last: datetime.date, *, region=None):
        self.first, self.last = first, last
        self._holidays = _HolidayLookup(region)
        self._closed = set(
            ClosureDay.objects.filter(date__range=(first, last)).values_list("date", flat=True)
        )

    def is_working_day(self, day: datetime.date) -> bool:
        if not self.first <= day <= self.last:
            raise ValueError(f"{day} is outside the calendar read ({self.first}-{self.last})")
        return day.weekday() < 5 and not self._holidays.is_holiday(day) and day not in self._closed

    def add(self, start: datetime.date, n: int) -> datetime.date:
        """The date of working day `n` counting `start` as day 0."""
        day, count = start, 0
        while count < n:
            day += _DAY
            if self.is_working_day(day):
                count += 1
        return day

    def back(self, today: datetime.date, n: int) -> datetime.date:
        """The `n`th working day before `today` (n >= 1).

        It is the earliest start from which working day `n` is not before today:
        `add(d, n) >= today` exactly when `d >= back(today, n)`.
        """
        if n < 1:
            raise ValueError("n must be at least 1")
        day, count = today, 0
        while count < n:
            day -= _DAY
            if self.is_working_day(day):
                count += 1
        return day


def calendar_around(today: datetime.date, *, back_working_days: int = 0,
                    ahead_working_days: int = 0) -> WorkingCalendar:
    """A calendar wide enough to count the given working days back and ahead of today
    (two calendar days per working day and a month's slack each way)."""
    return WorkingCalendar(
        today - datetime.timedelta(days=2 * back_working_days + 31),
        today + datetime.timedelta(days=2 * ahead_working_days + 31),
    )

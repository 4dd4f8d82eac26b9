"""Working-day arithmetic for practice deadlines (DESIGN.md section 2).

A working day is Monday to Friday, not a bank holiday of the configured region
and not a local closure day in force (``accounts.models.ClosureDay``, added and
withdrawn by administrators on /accounts/administration/closure-days/).

Bank holidays come from the ``holidays`` package with ``observed=True``: when a
holiday falls on a weekend the package lists both the weekend date (harmless, it
is a weekend anyway) and the substitute weekday, e.g. "Boxing Day (observed)" on
Mon 2026-12-28, and "Christmas Day (observed)" / "Boxing Day (observed)" on Mon
2027-12-27 / Tue 2027-12-28. The substitute day is what we skip.

The country is ``settings.WORKDAYS_COUNTRY`` (default "GB"); the subdivision is
the ``region`` argument, else ``settings.WORKDAYS_REGION`` (default "ENG";
Wales has the same bank holidays as England; Scotland and Northern Ireland
differ). An empty region means the country's nationwide holidays only.

Counting rule: the triggering day is day 0 whatever day it is; day 1 is the
first working day after it; ``add_working_days(start, n)`` is the date of day n.
"""

from __future__ import annotations

import bisect
import datetime
from functools import lru_cache

import holidays
from django.conf import settings
from django.utils import timezone

__all__ = ["add_working_days", "is_working_day", "working_days_between"]

_ONE_DAY = datetime.timedelta(days=1)


def add_working_days(start: datetime.date, n: int, *, region: str | None = None) -> datetime.date:
    """Return the date of working day ``n`` counting ``start`` as day 0.

    ``n == 0`` returns ``start`` unchanged (even on a weekend or holiday).
    Raises ``ValueError`` for negative ``n``. Reads closure days with (almost
    always) a single query.
    """
    _check_date(start)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if n == 0:
        return start
    holiday_lookup = _HolidayLookup(region)
    closed: set[datetime.date] = set()
    fetched_to = start
    slack = 14
    day, count = start, 0
    while count < n:
        day += _ONE_DAY
        if day > fetched_to:
            # Fetch closure days for a window that comfortably covers the rest:
            # 2 calendar days per remaining working day plus slack. Only a run of
            # closure days longer than the slack needs another (doubled) window.
            fetched_to = day + datetime.timedelta(days=2 * (n - count) + slack)
            closed |= _closure_days(day, fetched_to)
            slack *= 2
        if _working(day, holiday_lookup, closed):
            count += 1
    return day


def working_days_between(
    start: datetime.date, end: datetime.date, *, region: str | None = None
) -> int:
    """Return the signed number of working days from ``start`` to ``end``.

    For ``end > start`` this counts working days in ``(start, end]``, so
    ``working_days_between(d, add_working_days(d, n)) == n``. It is 0 when
    ``end == start`` and negative when ``end < start``
    (``working_days_between(a, b) == -working_days_between(b, a)``), so
    ``working_days_between(deadline, today)`` is the number of working days
    overdue (positive) or remaining (negative). One closure-day query.
    """
    _check_date(start)
    _check_date(end)
    if end == start:
        return 0
    if end < start:
        return -working_days_between(end, start, region=region)
    holiday_lookup = _HolidayLookup(region)
    closed = _closure_days(start + _ONE_DAY, end)
    count = 0
    day = start + _ONE_DAY
    while day <= end:
        if _working(day, holiday_lookup, closed):
            count += 1
        day += _ONE_DAY
    return count


def is_working_day(day: datetime.date, *, region: str | None = None) -> bool:
    """Return whether ``day`` is a working day (weekday, no bank holiday, no closure)."""
    _check_date(day)
    if day.weekday() >= 5 or _HolidayLookup(region).is_holiday(day):
        return False
    return not _closure_days(day, day)


class WorkingDayCalendar:
    """`add_working_days` for many dates with one read of closure days: for pages that
    need a date per row. The same bank holidays, closure days and counting (the start
    is day 0, day n is the nth working day after it). The window's working days are
    listed once, so each date is a bisection; a date outside the window widens it (one
    more read).
    """

    def __init__(
        self, first: datetime.date, last: datetime.date, *, region: str | None = None
    ) -> None:
        _check_date(first)
        _check_date(last)
        self._holidays = _HolidayLookup(region)
        self._first, self._last = first, max(first, last)
        self._closed = _closure_days(self._first, self._last)
        self._list()

    @classmethod
    def for_starts(
        cls, starts: list[datetime.date], longest: int, *, region: str | None = None
    ) -> WorkingDayCalendar:
        """Wide enough to count `longest` working days on from every start."""
        first = min(starts, default=timezone.localdate()) + _ONE_DAY
        last = max(starts, default=first) + datetime.timedelta(days=2 * longest + 14)
        return cls(first, last, region=region)

    def _list(self) -> None:
        span = (self._last - self._first).days + 1
        days = (self._first + datetime.timedelta(days=i) for i in range(span))
        self._days = [d for d in days if _working(d, self._holidays, self._closed)]

    def _cover(self, first: datetime.date, last: datetime.date) -> None:
        if first < self._first:
            self._closed |= _closure_days(first, self._first - _ONE_DAY)
            self._first = first
        if last > self._last:
            until = last + (last - self._first)
            self._closed |= _closure_days(self._last + _ONE_DAY, until)
            self._last = until
        self._list()

    def is_working_day(self, day: datetime.date) -> bool:
        if not self._first <= day <= self._last:
            self._cover(min(day, self._first), max(day, self._last))
        i = bisect.bisect_left(self._days, day)
        return i < len(self._days) and self._days[i] == day

    def add(self, start: datetime.date, n: int) -> datetime.date:
        """The date of working day `n` counting `start` as day 0."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return start
        if start + _ONE_DAY < self._first:
            self._cover(start + _ONE_DAY, self._last)
        while True:
            target = bisect.bisect_right(self._days, start) + n - 1
            if target < len(self._days):
                return self._days[target]
            self._cover(self._first, self._last + datetime.timedelta(days=2 * n + 14))


# --- internals ---------------------------------------------------------------------------


def _check_date(value: object) -> None:
    # datetime is a subclass of date; refuse it so callers choose the local date.
    if isinstance(value, datetime.datetime) or not isinstance(value, datetime.date):
        raise TypeError(f"expected a datetime.date, got {type(value).__name__}")


def _working(day: datetime.date, holidays: _HolidayLookup, closed: set) -> bool:
    """A weekday that is neither a bank holiday nor a local closure day."""
    return day.weekday() < 5 and not holidays.is_holiday(day) and day not in closed


def _closure_days(first: datetime.date, last: datetime.date) -> set[datetime.date]:
    """Local closure days in force (not withdrawn) in ``[first, last]``: one query."""
    from accounts.models import ClosureDay  # lazy: the app registry may not be ready at import

    days = ClosureDay.objects.in_force().filter(date__range=(first, last))
    return set(days.values_list("date", flat=True))


class _HolidayLookup:
    """Bank-holiday membership for the configured country and region."""

    def __init__(self, region: str | None) -> None:
        self.country = getattr(settings, "WORKDAYS_COUNTRY", "GB") or "GB"
        if region is None:
            region = getattr(settings, "WORKDAYS_REGION", "ENG")
        self.region = region or None

    def is_holiday(self, day: datetime.date) -> bool:
        return day in _bank_holidays(self.country, self.region, day.year)


@lru_cache(maxsize=256)
def _bank_holidays(country: str, region: str | None, year: int) -> frozenset[datetime.date]:
    """Bank-holiday dates (including observed substitutes) falling in ``year``.

    Neighbouring years are generated too, because some countries move a holiday
    into the previous or next calendar year when it is observed.
    """
    calendar = holidays.country_holidays(
        country, subdiv=region, years=(year - 1, year, year + 1), observed=True
    )
    return frozenset(day for day in calendar if day.year == year)

"""Pure rules for R9: how often supervision and CP case discussions are due."""

import datetime


def next_due(last: datetime.date | None, *, since: datetime.date, every_days: int) -> datetime.date:
    """When the next one is due: `every_days` after the last, or after `since` (when
    the worker started, or the child's plan began) if there has been none."""
    return (last or since) + datetime.timedelta(days=every_days)


def is_overdue(due: datetime.date, today: datetime.date) -> bool:
    """Due on a day means it may still happen that day; the day after it is overdue."""
    return today > due


def days_overdue(due: datetime.date, today: datetime.date) -> int:
    return max((today - due).days, 0)

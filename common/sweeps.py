"""Running a periodic sweep so that one failure stops nothing and a stopped sweep is seen.

Each item of a sweep is worked on its own (`each`): one that raises is logged, set
aside with a next-try time that backs off, and tried again once that time comes, while
the rest go on. Each run records when it started and finished (`run`), and `health`
reports a sweep that has not finished a run for three of its intervals, for /healthz.
"""

import datetime
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import SetAside, SweepRun

logger = logging.getLogger("safeguarding.sweeps")

BACKOFF_FIRST_SECONDS = 60
BACKOFF_MOST_SECONDS = 60 * 60
LATE_AFTER_INTERVALS = 3


def backoff(
    failures: int, *, first: int = BACKOFF_FIRST_SECONDS, most: int = BACKOFF_MOST_SECONDS
) -> datetime.timedelta:
    """How long to wait after the `failures`-th failure: `first` seconds after the
    first, doubling each time, `most` at most (by default a minute, up to an hour)."""
    doublings = min(max(failures - 1, 0), 32)
    return datetime.timedelta(seconds=min(most, first * 2**doublings))


def waiting(sweep: str, now: datetime.datetime) -> set[int]:
    """The items of `sweep` set aside and not yet due to be tried again."""
    return set(
        SetAside.objects.filter(
            sweep=sweep, cleared_at__isnull=True, next_try_at__gt=now
        ).values_list("object_id", flat=True)
    )


def set_aside(sweep: str, object_id: int, error: BaseException, now: datetime.datetime) -> None:
    text = f"{type(error).__name__}: {error}"[:500]
    with transaction.atomic():
        row, created = SetAside.objects.select_for_update().get_or_create(
            sweep=sweep,
            object_id=object_id,
            defaults={
                "first_failed_at": now,
                "last_failed_at": now,
                "next_try_at": now,
                "failures": 0,
            },
        )
        if row.cleared_at is not None:  # failing again after it once succeeded
            row.first_failed_at, row.failures, row.cleared_at = now, 0, None
        row.failures += 1
        row.last_failed_at = now
        row.last_error = text
        row.next_try_at = now + backoff(row.failures)
        row.save()
    logger.error(
        "sweep %s: %s set aside after failure %d until %s: %s",
        sweep,
        object_id,
        row.failures,
        row.next_try_at.isoformat(),
        text,
    )


def cleared(sweep: str, object_ids: Iterable[int], now: datetime.datetime) -> int:
    ids = list(object_ids)
    if not ids:
        return 0
    return SetAside.objects.filter(sweep=sweep, object_id__in=ids, cleared_at__isnull=True).update(
        cleared_at=now
    )


def each(
    sweep: str, ids: Iterable[int], work: Callable[[int], Any], *, now: datetime.datetime
) -> tuple[list[int], list[int]]:
    """Call `work(id)` for each id not set aside for later, each on its own: returns
    (done, failed). A failure is logged and set aside; the others go on."""
    later = waiting(sweep, now)
    done: list[int] = []
    failed: list[int] = []
    for object_id in ids:
        if object_id in later:
            continue
        try:
            work(object_id)
        except Exception as error:
            logger.exception("sweep %s: %s failed", sweep, object_id)
            set_aside(sweep, object_id, error, now)
            failed.append(object_id)
        else:
            done.append(object_id)
    cleared(sweep, done, now)
    return done, failed


def run(name: str, work: Callable[[], dict[str, Any]], *, now: datetime.datetime) -> dict:
    """Run one sweep for the moment `now`, recording when it started and, if it gets to
    the end, when it finished and what it did. A run that raises is recorded with its
    error and raises again (the task shows as failed)."""
    started = timezone.now()
    if not SweepRun.objects.filter(name=name).update(last_started_at=started, runs=F("runs") + 1):
        SweepRun.objects.bulk_create(
            [SweepRun(name=name, last_started_at=started, runs=1)], ignore_conflicts=True
        )
    try:
        result = work()
    except Exception as error:
        SweepRun.objects.filter(name=name).update(
            last_error=f"{type(error).__name__}: {error}"[:500]
        )
        raise
    result = {**result, "set_aside": _set_aside_count(name)}
    SweepRun.objects.filter(name=name).update(
        last_succeeded_at=timezone.now(), last_for=now, last_result=result, last_error=""
    )
    logger.info("sweep %s for %s: %s", name, now.isoformat(), result)
    return result


def _set_aside_count(name: str) -> int:
    return SetAside.objects.filter(sweep=name, cleared_at__isnull=True).count()


def health(now: datetime.datetime | None = None) -> dict[str, dict[str, Any]]:
    """For each watched sweep (settings.SWEEPS: name -> interval in seconds): "ok", or
    "late" when no run has finished in the last three intervals (nor, if none ever has,
    in the three since it was first watched), with
    when it last finished and how many items it holds set aside."""
    now = now or timezone.now()
    runs = {row.name: row for row in SweepRun.objects.filter(name__in=list(settings.SWEEPS))}
    for name in set(settings.SWEEPS) - set(runs):  # watched from now on
        runs[name], _ = SweepRun.objects.get_or_create(name=name)
    waiting_counts: dict[str, int] = {}
    for sweep in SetAside.objects.filter(cleared_at__isnull=True).values_list("sweep", flat=True):
        waiting_counts[sweep] = waiting_counts.get(sweep, 0) + 1
    report = {}
    for name, interval in settings.SWEEPS.items():
        row = runs[name]
        last = row.last_succeeded_at
        late = now - (last or row.watched_since) > datetime.timedelta(
            seconds=interval * LATE_AFTER_INTERVALS
        )
        report[name] = {
            "status": "late" if late else "ok",
            "last_succeeded_at": last.isoformat() if last else None,
            "set_aside": waiting_counts.get(name, 0),
        }
    return report

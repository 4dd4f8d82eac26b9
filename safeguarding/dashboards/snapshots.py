"""The service dashboard's figures, kept as a snapshot per service manager.

Counting every figure for every team of a county is a second of database work; a
service manager's page is read far more often than the figures change materially.
So a periodic task (`dashboards_refresh_service`, every SERVICE_DASHBOARD_REFRESH_SECONDS)
works them out for each active service manager with exactly the queries and scoping of
the live page (queries_manager.counts_by_team for that user), and the page reads the
snapshot. The page shows when the figures were worked out and offers "Refresh now".
A snapshot from another day, older than SERVICE_DASHBOARD_MAX_AGE_SECONDS, or missing is
worked out again when the page is opened. The team dashboards and every list behind a
figure are always live.
"""

import datetime
import time
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from accounts import roles
from accounts.models import User
from safeguarding.models import DashboardSnapshot

from . import queries_manager as q
from .common import Moment, moment


@dataclass
class ServiceCounts:
    counts: dict[str, dict[int, int]]
    computed_at: datetime.datetime
    seconds: float
    fresh: bool  # worked out for this request


def _encode(counts: dict[str, dict[int, int]]) -> dict[str, dict[str, int]]:
    return {key: {str(team): n for team, n in by_team.items()} for key, by_team in counts.items()}


def _decode(data: dict[str, dict[str, int]]) -> dict[str, dict[int, int]]:
    return {key: {int(team): n for team, n in by_team.items()} for key, by_team in data.items()}


def service_snapshot_refresh(*, user, now: datetime.datetime | None = None) -> DashboardSnapshot:
    """Work out the user's service figures at `now` and keep them, replacing the last."""
    m = moment(now)
    started = time.perf_counter()
    counts = q.counts_by_team(user, m)
    seconds = time.perf_counter() - started
    snapshot, _ = DashboardSnapshot.objects.update_or_create(
        user=user, defaults={"computed_at": m.now, "seconds": seconds, "counts": _encode(counts)}
    )
    return snapshot


def service_snapshots_refresh_all(*, now: datetime.datetime | None = None) -> int:
    """A snapshot for every active service manager; returns how many were worked out."""
    managers = User.objects.filter(is_active=True, groups__name=roles.SERVICE_MANAGER).distinct()
    done = 0
    for user in managers:
        service_snapshot_refresh(user=user, now=now)
        done += 1
    return done


def _usable(snapshot: DashboardSnapshot | None, m: Moment) -> bool:
    if snapshot is None:
        return False
    if timezone.localdate(snapshot.computed_at) != m.today or snapshot.computed_at > m.now:
        return False
    age = (m.now - snapshot.computed_at).total_seconds()
    return age <= settings.SERVICE_DASHBOARD_MAX_AGE_SECONDS


def service_counts(user, m: Moment) -> ServiceCounts:
    """The figures for the page: the user's snapshot when it is usable, else worked out
    now (and kept)."""
    snapshot = DashboardSnapshot.objects.filter(user=user).first()
    fresh = not _usable(snapshot, m)
    if fresh:
        snapshot = service_snapshot_refresh(user=user, now=m.now)
    return ServiceCounts(
        counts=_decode(snapshot.counts),
        computed_at=snapshot.computed_at,
        seconds=snapshot.seconds,
        fresh=fresh,
    )

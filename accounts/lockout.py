"""Sign-in lockout (django-axes): the project's hooks into axes, and what is locked now.

Axes counts failed sign-ins per username and client address together
(settings.AXES_LOCKOUT_PARAMETERS; docs/DECISIONS.md, "Lockout and throttling"). Its
AccessAttempt rows are the counters (one per username, address and browser); a
username at an address is locked while the failures of its rows within the cool-off
reach the failure limit.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.dispatch import receiver
from django.http import HttpRequest

log = logging.getLogger("accounts.lockout")


def axes_client_ip(request: HttpRequest) -> str | None:
    """The client address axes counts by: the project's one answer to who the client is."""
    from .services import client_ip

    return client_ip(request)


# axes' username column; Django's sign-in forms do not enforce the username's length.
USERNAME_MAX = 255


def axes_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The username axes counts by: as typed, cut to what its records hold (a longer one,
    which no account has, failed to save and answered 500)."""
    field = str(settings.AXES_USERNAME_FORM_FIELD)
    if credentials:
        username = credentials.get(field)
    else:
        username = getattr(request, "data", request.POST).get(field)
    return username[:USERNAME_MAX] if isinstance(username, str) else None


@receiver(user_locked_out)
def log_lockout(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    """Each lockout, and each sign-in refused while locked, is a warning in the log (the
    username as typed, shown with repr so nothing typed can forge a log line)."""
    path = getattr(request, "path", "") if request is not None else ""
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None:  # refused while already locked: nothing was counted
        log.warning(
            "Sign-in refused while locked: username %r from address %s (%s)",
            username,
            ip_address or "unknown",
            path,
        )
    else:
        log.warning(
            "Sign-in locked after %d failed attempts: username %r from address %s (%s)",
            failures,
            username,
            ip_address or "unknown",
            path,
        )


def cool_off() -> datetime.timedelta:
    return settings.AXES_COOLOFF_TIME


@dataclass(frozen=True)
class Lockout:
    username: str
    ip_address: str | None
    failures: int
    first_failure_at: datetime.datetime
    last_failure_at: datetime.datetime
    until: datetime.datetime


def _lockout_from(rows: list[AccessAttempt], *, limit: int) -> Lockout | None:
    """The lockout these counters (one username at one address, within the cool-off)
    make, or None. It lasts until so few of the newest failures remain inside the
    cool-off that they fall below the limit."""
    failures = sum(r.failures_since_start for r in rows)
    if not rows or failures < limit:
        return None
    newest_first = sorted(rows, key=lambda r: r.attempt_time, reverse=True)
    counted = 0
    ends_with = newest_first[-1]
    for row in newest_first:
        counted += row.failures_since_start
        if counted >= limit:
            ends_with = row
            break
    return Lockout(
        username=rows[0].username,
        ip_address=rows[0].ip_address,
        failures=failures,
        first_failure_at=min(r.attempt_time for r in rows),
        last_failure_at=newest_first[0].attempt_time,
        until=ends_with.attempt_time + cool_off(),
    )


def current_lockouts(*, now: datetime.datetime) -> list[Lockout]:
    """Every username and address locked at `now`, the longest-locked last."""
    rows = AccessAttempt.objects.filter(attempt_time__gte=now - cool_off()).order_by("id")
    groups: dict[tuple[str, str | None], list[AccessAttempt]] = {}
    for row in rows:
        groups.setdefault((row.username, row.ip_address), []).append(row)
    lockouts = [
        lockout
        for group in groups.values()
        if (lockout := _lockout_from(group, limit=settings.AXES_FAILURE_LIMIT)) is not None
    ]
    return sorted(lockouts, key=lambda x: x.last_failure_at, reverse=True)


def lockout_for(
    *, username: str, ip_address: str | None, now: datetime.datetime, for_update: bool = False
) -> Lockout | None:
    """The lockout of this username at this address at `now`, or None. `for_update` (in a
    transaction) locks its counters until the transaction ends, so two unlocking at once
    unlock it once."""
    attempts = AccessAttempt.objects.all()
    if for_update:
        attempts = attempts.select_for_update()
    rows = list(
        attempts.filter(
            username=username, ip_address=ip_address, attempt_time__gte=now - cool_off()
        )
    )
    return _lockout_from(rows, limit=settings.AXES_FAILURE_LIMIT)

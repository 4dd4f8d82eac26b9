"""Reads about notifications (the undelivered emails page and /healthz) and sign-in
unlocks (the lockouts page)."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import QuerySet

from . import policy
from .models import Notification, NotificationResend, SignInUnlock

if TYPE_CHECKING:
    from .models import User


def _emails() -> QuerySet[Notification]:
    return Notification.objects.filter(channel=Notification.Channel.EMAIL, sent_at__isnull=True)


def overdue_since(now: datetime.datetime) -> datetime.datetime:
    """Emails written before this and still unsent are overdue."""
    return now - datetime.timedelta(minutes=settings.NOTIFICATIONS_OVERDUE_MINUTES)


def undelivered_emails(user: User | None) -> QuerySet[Notification]:
    """Emails given up on (refused by the mail server too often), newest first."""
    if not policy.can_manage_notifications(user):
        return Notification.objects.none()
    return (
        _emails()
        .filter(dead_at__isnull=False)
        .select_related("recipient")
        .prefetch_related("resends__resent_by")
        .order_by("-dead_at", "-id")
    )


def overdue_emails(user: User | None, *, now: datetime.datetime) -> QuerySet[Notification]:
    """Emails still being tried NOTIFICATIONS_OVERDUE_MINUTES after they were written,
    longest waiting first."""
    if not policy.can_manage_notifications(user):
        return Notification.objects.none()
    return (
        _emails()
        .filter(dead_at__isnull=True, created_at__lte=overdue_since(now))
        .select_related("recipient")
        .order_by("created_at", "id")
    )


def recent_resends(user: User | None, *, limit: int = 20) -> list[NotificationResend]:
    if not policy.can_manage_notifications(user):
        return []
    return list(
        NotificationResend.objects.select_related("notification__recipient", "resent_by")[:limit]
    )


def email_health(now: datetime.datetime) -> dict[str, int]:
    """Counts only, for /healthz: emails given up on, and emails overdue."""
    return {
        "dead_letters": _emails().filter(dead_at__isnull=False).count(),
        "overdue": _emails()
        .filter(dead_at__isnull=True, created_at__lte=overdue_since(now))
        .count(),
    }


RECENT_UNLOCKS = 20


def recent_sign_in_unlocks(user: User | None) -> QuerySet[SignInUnlock]:
    """The latest lockouts ended early by an administrator, newest first."""
    if not policy.can_unlock_sign_in(user):
        return SignInUnlock.objects.none()
    return SignInUnlock.objects.select_related("unlocked_by").order_by("-unlocked_at", "-id")[
        :RECENT_UNLOCKS
    ]

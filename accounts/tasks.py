from celery import shared_task
from django.conf import settings

from . import services


@shared_task(
    acks_late=True,
    soft_time_limit=settings.NOTIFICATIONS_SEND_SOFT_TIME_LIMIT,
    time_limit=settings.NOTIFICATIONS_SEND_TIME_LIMIT,
)
def notifications_send():
    """Send the emails that are due, for up to NOTIFICATIONS_SEND_BUDGET_SECONDS; safe to
    run twice or on two workers at once. Routed to its own queue (CELERY_TASK_ROUTES).

    Never retried as a whole (that could send again): whatever is not sent stays due in
    the outbox for the next run, which beat starts every NOTIFICATIONS_SEND_SECONDS and
    notify() after each commit. The result says what happened: sent, refused,
    undelivered, and deferred because the mail server could not be reached.
    """
    from django.utils import timezone

    from common import sweeps

    now = timezone.now()
    return sweeps.run("notifications", lambda: services.notifications_drain().as_dict(), now=now)

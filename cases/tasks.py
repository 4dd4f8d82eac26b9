from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(acks_late=True, soft_time_limit=240, time_limit=280)
def escalations_sweep():
    """Mark overdue escalations, queue reminders, and retry unsent notifications."""
    return services.escalations_sweep(now=timezone.now())

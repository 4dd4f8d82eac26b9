from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(acks_late=True, soft_time_limit=240, time_limit=280)
def escalations_sweep():
    """Recompute active escalations from their dates: met, overdue, reminders."""
    return services.escalations_sweep(now=timezone.now())

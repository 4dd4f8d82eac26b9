from celery import shared_task

from . import services


@shared_task(
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=120,
    time_limit=150,
)
def notifications_send():
    """Send queued emails; safe to run twice or on two workers at once."""
    return services.notifications_send_due()

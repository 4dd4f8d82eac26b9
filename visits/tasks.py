from celery import shared_task
from django.utils import timezone

from . import services


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def visits_evaluate_case(case_id: int):
    """Evaluate the defaulted-visits rule for one case. Idempotent. Not retried by
    Celery: if it fails, the case's evaluation request stays and the visits sweep
    evaluates it."""
    escalation = services.visits_evaluate_case(case_id)
    return escalation.pk if escalation else None


@shared_task(acks_late=True, soft_time_limit=240, time_limit=280)
def visits_sweep():
    """Evaluate every case whose evaluation request is still waiting, however old."""
    return services.visits_sweep(now=timezone.now())


@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def lone_working_check(check_in_id: int):
    """Send the lone-working alert due for one check-in, if any (sent with eta=due time).
    Idempotent; not retried: the lone-working sweep covers a lost or failed run."""
    from . import lone_working

    return lone_working.lone_working_alert(check_in_id, now=timezone.now())


@shared_task(acks_late=True, soft_time_limit=50, time_limit=58)
def lone_working_sweep():
    """Send every lone-working alert that is due."""
    from . import lone_working

    return lone_working.lone_working_alerts_due(now=timezone.now())

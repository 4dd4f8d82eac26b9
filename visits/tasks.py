import datetime

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from cases.models import Escalation

from . import services
from .models import Visit


@shared_task(
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def visits_evaluate_case(case_id: int):
    """Evaluate the defaulted-visits rule for one case. Idempotent."""
    escalation = services.visits_evaluate_case(case_id)
    return escalation.pk if escalation else None


@shared_task(acks_late=True, soft_time_limit=240, time_limit=280)
def visits_sweep_recent():
    """Re-evaluate cases whose visits changed recently, in case a message was lost.
    Reads by the time a visit was changed, so its cost grows with recent activity,
    not with the number of cases."""
    since = timezone.now() - datetime.timedelta(minutes=settings.ESCALATION_SWEEP_LOOKBACK_MINUTES)
    case_ids = set(
        Visit.objects.filter(
            Q(outcome_recorded_at__gte=since) | Q(in_error_at__gte=since)
        ).values_list("case_id", flat=True)
    )
    # A met or cancelled escalation restarts the count: look at those cases too.
    case_ids |= set(
        Escalation.objects.filter(
            kind=Escalation.Kind.DEFAULTED_VISITS, closed_at__gte=since
        ).values_list("case_id", flat=True)
    )
    fired = 0
    for case_id in sorted(case_ids):
        if services.visits_evaluate_case(case_id):
            fired += 1
    return {"cases": len(case_ids), "fired": fired}

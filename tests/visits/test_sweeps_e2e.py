"""Through real processes: beat sends the sweeps on their own queue and a real worker
runs them, so a case whose evaluation message was lost (here: never sent) is evaluated
by the first sweep, and each sweep's finished run is recorded for /healthz.

bin/beat and bin/worker themselves, on queues of their own, connected to this session's
PostgreSQL test database over Redis (CI). Needs PostgreSQL and Redis.
"""

import datetime

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from cases.models import Escalation
from common.models import SweepRun
from common.sweeps import health
from tests.factories import CaseFactory, MembershipFactory, RecordedVisitFactory, UserFactory
from tests.safeguarding.test_processes import stack  # noqa: F401  (the fixture)
from visits.models import EvaluationRequest

pytestmark = pytest.mark.django_db(transaction=True)


def test_beat_and_a_worker_run_the_sweeps_and_recover_a_lost_evaluation(stack):  # noqa: F811
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL)")
    worker = UserFactory(username="amira")
    case = CaseFactory(team=worker.team, opened_on=datetime.date(2026, 1, 5))
    case.allocated_workers.add(worker)
    MembershipFactory(case=case, start_date=datetime.date(2026, 1, 5))
    now = timezone.now()
    for days_ago in (10, 7, 4, 1):
        RecordedVisitFactory(
            case=case, lead_worker=worker, planned_for=now - datetime.timedelta(days=days_ago)
        )
    # The visit's transaction wrote the request; its message to the worker was lost.
    EvaluationRequest.objects.create(case=case, requested_at=now - datetime.timedelta(days=1))

    sweeps_queue = f"test-{stack.tag}-sweeps"
    stack.env.update(
        CELERY_SWEEPS_QUEUE=sweeps_queue,
        CELERY_QUEUES=f"test-{stack.tag},{sweeps_queue}",
        CELERY_TASK_DEFAULT_QUEUE=f"test-{stack.tag}",
        ESCALATION_SWEEP_SECONDS="2",
    )
    stack.start("worker")
    stack.start("beat")

    escalation = stack.wait_for(
        "the visits sweep to fire the escalation",
        lambda: Escalation.objects.filter(case=case).first(),
        timeout=60,
    )
    assert escalation.state == Escalation.State.OPEN and escalation.trigger_count == 4
    stack.wait_for(
        "both sweeps to record a finished run",
        lambda: (
            SweepRun.objects.filter(
                name__in=["escalations", "visits"], last_succeeded_at__isnull=False
            ).count()
            == 2
        ),
        timeout=60,
    )
    assert EvaluationRequest.objects.get(case=case).requested_at is None
    report = health()
    assert (report["escalations"]["status"], report["visits"]["status"]) == ("ok", "ok")

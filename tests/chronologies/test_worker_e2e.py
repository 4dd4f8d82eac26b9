"""A large export through a real Celery worker on Redis: requested through the API,
progress visible while it renders, then downloaded. Needs PostgreSQL and Redis (CI)."""

import datetime
import subprocess

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import AccessLog
from chronologies.models import ChronologyEntry, ChronologyExport
from safeguarding.celery import app as celery_app
from tests.factories import CaseFactory, TeamFactory, UserFactory, api_token_for
from tests.safeguarding.test_processes import stack  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_and_postgres():
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL)")


@pytest.fixture
def publish_to(stack):  # noqa: F811
    before = (celery_app.conf.task_default_queue, celery_app.conf.task_always_eager)
    celery_app.conf.task_default_queue = f"test-{stack.tag}"
    celery_app.conf.task_always_eager = False
    yield stack
    celery_app.conf.task_default_queue, celery_app.conf.task_always_eager = before


def test_it_renders_a_large_export_on_a_worker_with_progress(
    redis_and_postgres, publish_to, client, settings
):
    procs = publish_to
    settings.CHRONOLOGY_EXPORT_SYNC_MAX_ENTRIES = 10
    # Parts of 40 entries: the worker's pool process lays them out in child processes.
    procs.env.update(
        CELERY_TASK_DEFAULT_QUEUE=f"test-{procs.tag}",
        CHRONOLOGY_EXPORT_DIR=str(settings.CHRONOLOGY_EXPORT_DIR),
        CHRONOLOGY_PDF_CHUNK_ENTRIES="40",
        CHRONOLOGY_PDF_PROCESSES="2",
    )
    worker_proc = procs.start("worker")
    procs.wait_for("the worker to be ready", lambda: " ready." in worker_proc.output())

    team = TeamFactory(name="North Assessment", code="north")
    worker = UserFactory(username="amira", team=team)
    case = CaseFactory(team=team, family_name="Walsh", opened_on=datetime.date(2025, 1, 5))
    case.allocated_workers.add(worker)
    now = timezone.now()
    ChronologyEntry.objects.bulk_create(
        [
            ChronologyEntry(
                case=case,
                source_type="bulk",
                source_id=str(i),
                category="multi_agency",
                occurred_on=datetime.date(2025, 1, 5) + datetime.timedelta(days=i),
                title=f"Entry {i}",
                details="School reports concern",
                informant_type="neighbour",
                created_at=now,
                updated_at=now,
            )
            for i in range(150)
        ]
    )
    auth = {"HTTP_AUTHORIZATION": f"Token {api_token_for(worker)}"}

    response = client.post(
        f"/api/v1/cases/{case.pk}/chronology-exports/",
        {"format": "pdf"},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 202 and response.json()["status"] == "queued"
    export_id = response.json()["id"]
    seen = set()

    def finished():
        export = ChronologyExport.objects.get(pk=export_id)
        seen.add(export.progress)
        return export if export.is_finished else None

    export = procs.wait_for("the worker to render the export", finished, timeout=120)
    assert export.status == "done", export.error
    assert export.pages > 2 and export.rows == 150
    assert len(seen - {0}) >= 1
    status = client.get(f"/api/v1/cases/{case.pk}/chronology-exports/{export_id}/", **auth)
    download = client.get(status.json()["download_url"], **auth)
    assert download.status_code == 200
    data = b"".join(download.streaming_content)
    assert data.startswith(b"%PDF")
    pages = (
        subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
        )
        .stdout.decode()
        .split("\f")[:-1]
    )
    assert len(pages) == export.pages  # four parts of 37 or 38 entries, after the cover
    for number, text in enumerate(pages, 1):
        assert f"Page {number} of {export.pages}" in text and "OFFICIAL-SENSITIVE" in text
    assert "Entry 149" in pages[1] and "Entry 0\n" in pages[-1]
    assert AccessLog.objects.filter(user=worker, what__startswith="API downloaded").exists()


def test_it_applies_the_approved_redaction_on_the_worker(
    redis_and_postgres, publish_to, client, settings
):
    """A long redacted export is rendered on the worker with exactly the decisions its
    reviewer approved: automatic redactions, a candidate left in, a term added."""
    from chronologies import services
    from tests.factories import MembershipFactory

    procs = publish_to
    settings.CHRONOLOGY_EXPORT_SYNC_MAX_ENTRIES = 10
    procs.env.update(
        CELERY_TASK_DEFAULT_QUEUE=f"test-{procs.tag}",
        CHRONOLOGY_EXPORT_DIR=str(settings.CHRONOLOGY_EXPORT_DIR),
        CHRONOLOGY_PDF_CHUNK_ENTRIES="40",
        CHRONOLOGY_PDF_PROCESSES="2",
    )
    worker_proc = procs.start("worker")
    procs.wait_for("the worker to be ready", lambda: " ready." in worker_proc.output())

    team = TeamFactory(name="North Assessment", code="north")
    worker = UserFactory(username="amira", team=team)
    case = CaseFactory(team=team, family_name="Walsh", opened_on=datetime.date(2025, 1, 5))
    case.allocated_workers.add(worker)
    MembershipFactory(
        case=case,
        relationship="grandparent",
        person__first_name="Maureen",
        person__last_name="Hale",
    )
    now = timezone.now()
    ChronologyEntry.objects.bulk_create(
        [
            ChronologyEntry(
                case=case,
                source_type="bulk",
                source_id=str(i),
                category="multi_agency",
                occurred_on=datetime.date(2025, 1, 5) + datetime.timedelta(days=i),
                title=f"Entry {i}",
                details=f"Janet Whitfield of 12 Elm Road saw Maureen; Dr Osei and Mr Patel {i}",
                informant_type="neighbour",
                informant_name="Janet Whitfield",
                informant_address="12 Elm Road, NR1 3AB",
                created_at=now,
                updated_at=now,
            )
            for i in range(150)
        ]
    )
    auth = {"HTTP_AUTHORIZATION": f"Token {api_token_for(worker)}"}
    response = client.post(
        f"/api/v1/cases/{case.pk}/chronology-exports/",
        {"format": "pdf", "redacted": True},
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 202 and response.json()["status"] == "review"
    export = ChronologyExport.objects.get(pk=response.json()["id"])
    state = services.redaction_review_state(export)
    keys = {c.text: c.key for c in state.review.candidates}
    services.redaction_review_update(
        actor=worker,
        export=export,
        shown=keys.values(),
        redact=[k for text, k in keys.items() if text != "Osei"],
        added_terms="Entry 7\n",
    )
    state = services.redaction_review_state(export)
    export = services.redaction_review_approve(
        actor=worker, export=export, version=state.version, confirmed=True
    )
    services.export_start(export)

    def finished():
        e = ChronologyExport.objects.get(pk=export.pk)
        return e if e.is_finished else None

    export = procs.wait_for("the worker to render the export", finished, timeout=120)
    assert export.status == "done", export.error
    status = client.get(f"/api/v1/cases/{case.pk}/chronology-exports/{export.pk}/", **auth)
    data = b"".join(client.get(status.json()["download_url"], **auth).streaming_content)
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()
    for secret in ("Janet", "Whitfield", "Elm Road", "Maureen", "Patel", "NR1"):
        assert secret not in text, secret
    assert text.count("Dr Osei") == 150  # left in, as decided
    assert "[grandparent]" in text and "[third party 1]" in text
    assert "Entry 7\n" not in text and "[redacted]" in text and "Entry 149" in text

"""The chronology PDF benchmark (not a test): build a case with N entries, render its PDF
and measure pages, seconds and peak memory, this process and its child processes. The
entries are made in a transaction that is rolled back, so nothing is left behind.

    from chronologies.benchmark import run_benchmark
    run_benchmark(2000)  # {"entries": 2000, "pages": ..., "seconds": ..., ...}
"""

import datetime
import resource
import time
from pathlib import Path

from django.db import transaction
from django.utils import timezone


class _Rollback(Exception):
    pass


def _peak_mb(who) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)  # ru_maxrss is in KiB on Linux


def _cpu(who) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_benchmark(
    entries: int = 2000,
    *,
    save_pdf: str | Path | None = None,
    chunk_entries: int | None = None,
    processes: int | None = None,
) -> dict:
    """Render a chronology of `entries` entries to PDF and return the figures:
    entries, pages, seconds (rendering, wall clock), rows_seconds (reading the rows),
    cpu_seconds (this process and its children), peak memory in MB of this process, of
    the largest child process and an upper bound for both together, the PDF's size, and
    the parts and processes used. `save_pdf` keeps a copy of the PDF."""
    result: dict = {}
    try:
        with transaction.atomic():
            result = _run(
                entries, save_pdf=save_pdf, chunk_entries=chunk_entries, processes=processes
            )
            raise _Rollback
    except _Rollback:
        pass
    return result


def _run(n, *, save_pdf, chunk_entries, processes):
    from django.conf import settings

    from accounts.models import Agency, Team, User
    from cases.models import Case

    from . import export as render
    from . import queries
    from .models import ChronologyEntry

    now = timezone.now()
    team = Team.objects.first() or Team.objects.create(name="Bench", code="bench")
    user = User.objects.filter(is_active=True).first() or User.objects.create(username="bench")
    agency, _ = Agency.objects.get_or_create(
        name="Bench Primary School", defaults={"kind": "school"}
    )
    case = Case.objects.create(
        reference="BENCH-0001",
        family_name="Bench",
        team=team,
        opened_on=datetime.date(2020, 1, 1),
        summary="Benchmark",
        created_at=now,
        created_by=user,
    )
    day = datetime.date(2020, 1, 1)
    ChronologyEntry.objects.bulk_create(
        [
            ChronologyEntry(
                case=case,
                source_type="bench",
                source_id=str(i),
                category="multi_agency",
                occurred_on=day + datetime.timedelta(days=i % 2000),
                title=f"School reports concern number {i} about attendance and presentation",
                details="Child arrived late, hungry and in the same clothes as yesterday. "
                "Teacher spoke to mother at the gate, who said things were difficult.",
                analysis="Pattern of neglect continues despite support offered.",
                action_taken="Discussed with the team manager; visit planned." if i % 3 else "",
                agency=agency,
                significance=("routine", "significant", "critical")[i % 3],
                created_at=now,
                updated_at=now,
            )
            for i in range(n)
        ]
    )
    started = time.perf_counter()
    rows = render.rows_for(queries.case_entries(case), redacted=False)
    rows_seconds = time.perf_counter() - started
    cover = {
        "children": [],
        "date_range": "Benchmark",
        "filters": [],
        "in_error": "Left out",
        "generated_by": "Benchmark",
        "redacted": False,
    }
    chunk_entries = chunk_entries or getattr(settings, "CHRONOLOGY_PDF_CHUNK_ENTRIES", 250)
    processes = processes or getattr(settings, "CHRONOLOGY_PDF_PROCESSES", 2)
    parts = len(render.split_rows(rows, chunk_entries=chunk_entries, processes=processes))
    cpu_before = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    data, pages = render.pdf_bytes(
        case=case, rows=rows, cover=cover, chunk_entries=chunk_entries, processes=processes
    )
    seconds = time.perf_counter() - started
    cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - cpu_before
    if save_pdf:
        Path(save_pdf).write_bytes(data)
    workers = min(processes, parts) if parts > 1 else 0
    self_mb = _peak_mb(resource.RUSAGE_SELF)
    child_mb = _peak_mb(resource.RUSAGE_CHILDREN) if workers else 0.0
    return {
        "entries": n,
        "pages": pages,
        "seconds": round(seconds, 2),
        "rows_seconds": round(rows_seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_rss_mb": self_mb,
        "peak_rss_mb_child": child_mb,
        "peak_rss_mb_total_max": round(self_mb + workers * child_mb, 1),
        "pdf_bytes": len(data),
        "parts": parts,
        "processes": workers or 1,
    }

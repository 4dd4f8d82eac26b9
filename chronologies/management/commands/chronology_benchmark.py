"""Benchmark (not a test): render a chronology of N entries to PDF and report pages,
seconds and peak memory. Builds the entries in a transaction that is rolled back, so
nothing is left behind.

    manage.py chronology_benchmark --entries 2000
"""

import datetime
import resource
import time

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Agency, Team, User
from cases.models import Case
from chronologies import export as render
from chronologies import queries
from chronologies.models import ChronologyEntry


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time a chronology PDF of N entries (pages, seconds, peak memory)"

    def add_arguments(self, parser):
        parser.add_argument("--entries", type=int, default=2000)

    def handle(self, *args, entries, **options):
        try:
            with transaction.atomic():
                self.run(entries)
                raise Rollback
        except Rollback:
            pass

    def run(self, n):
        now = timezone.now()
        team = Team.objects.first() or Team.objects.create(name="Bench", code="bench")
        user = User.objects.filter(is_active=True).first() or User.objects.create(
            username="bench")
        agency, _ = Agency.objects.get_or_create(name="Bench Primary School",
                                                 defaults={"kind": "school"})
        case = Case.objects.create(reference="BENCH-0001", family_name="Bench", team=team,
                                   opened_on=datetime.date(2020, 1, 1), summary="Benchmark",
                                   created_at=now, created_by=user)
        day = datetime.date(2020, 1, 1)
        ChronologyEntry.objects.bulk_create([ChronologyEntry(
            case=case, source_type="bench", source_id=str(i), category="multi_agency",
            occurred_on=day + datetime.timedelta(days=i % 2000),
            title=f"School reports concern number {i} about attendance and presentation",
            details="Child arrived late, hungry and in the same clothes as yesterday. "
                    "Teacher spoke to mother at the gate, who said things were difficult.",
            analysis="Pattern of neglect continues despite support offered.",
            action_taken="Discussed with the team manager; visit planned." if i % 3 else "",
            agency=agency, significance=("routine", "significant", "critical")[i % 3],
            created_at=now, updated_at=now) for i in range(n)])
        rows_started = time.perf_counter()
        rows = render.rows_for(queries.case_entries(case), redacted=False)
        rows_seconds = time.perf_counter() - rows_started
        cover = {"children": [], "date_range": "benchmark", "filters": [],
                 "in_error": "Left out", "generated_by": "benchmark", "redacted": False}
        started = time.perf_counter()
        data, pages = render.pdf_bytes(case=case, rows=rows, cover=cover)
        seconds = time.perf_counter() - started
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(
            f"entries={n} pages={pages} pdf_bytes={len(data)} rows_seconds={rows_seconds:.2f} "
            f"render_seconds={seconds:.2f} peak_rss_mb={maxrss:.0f}")

"""Benchmark (not a test) at a county's volume on PostgreSQL: server time and queries of
the dashboards, the case page and the chronology page; the escalation sweep at several
shares of cases due; the 2,000-entry chronology PDF. Prints a table and writes JSON.

    manage.py bench                  # builds the scale data first if there is none
    manage.py bench --skip-build --requests 40 --json var/bench.json

Pages are requested in-process through Django's test client, signed in as users of the
right roles; the time is the server's (no network, no browser). The sweep runs inside
a transaction that is rolled back, so the data is left as it was.
"""

import datetime
import json
import os
import random
import resource
import statistics
import subprocess
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Count, Q
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.models import User
from cases.models import Case, Escalation
from chronologies.benchmark import run_benchmark
from safeguarding import demo_scale

PAGE_BUDGET_MS = 100
SWEEP_BUDGET_S = 2.0


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Benchmark pages, the sweep and the chronology PDF at scale (prints and writes JSON)"

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", type=int, default=20000, help="Cases to build when there is no scale data"
        )
        parser.add_argument(
            "--skip-build",
            action="store_true",
            help="Never build scale data, even if there is none",
        )
        parser.add_argument(
            "--requests", type=int, default=40, help="Timed requests per page, after the warm-up"
        )
        parser.add_argument("--warmup", type=int, default=5)
        parser.add_argument(
            "--sweep-shares",
            default="0.005,0.01,0.02",
            help="Shares of cases due for the sweep runs",
        )
        parser.add_argument("--pdf-entries", type=int, default=2000)
        parser.add_argument("--skip-pdf", action="store_true")
        parser.add_argument("--skip-pages", action="store_true")
        parser.add_argument("--skip-sweep", action="store_true")
        parser.add_argument("--json", default=str(Path(settings.VAR_DIR) / "bench.json"))

    def handle(self, *args, **opts):
        if connection.vendor != "postgresql":
            raise CommandError(
                "bench measures PostgreSQL: set DATABASE_URL to a PostgreSQL "
                "database (the scale data is built there)"
            )
        if not settings.DEBUG and not settings.DEMO_MODE and not settings.TESTING:
            raise CommandError(
                "bench only runs with DEMO_MODE or DJANGO_DEBUG on: it may "
                "build demo data with a published password"
            )
        if not demo_scale.scale_teams().exists():
            if opts["skip_build"]:
                raise CommandError(
                    "No scale data: run seed_demo --scale first, or drop --skip-build"
                )
            self.stdout.write(f"Building scale data ({opts['scale']} cases)...")
            call_command(
                "seed_demo", "--scale", str(opts["scale"]), "--quiet-logins", stdout=self.stdout
            )
        result = {
            "when": timezone.now().isoformat(timespec="seconds"),
            "machine": {
                "cores": os.cpu_count(),
                "python": _python(),
                "postgresql": _pg_version(),
                "commit": _commit(),
            },
            "data": _data_sizes(),
            "pages": {},
            "sweep": {},
            "pdf": None,
        }
        self.stdout.write(f"Data: {result['data']}")
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend", SECURE_SSL_REDIRECT=False
        ):
            if not opts["skip_pages"]:
                result["pages"] = self.pages(opts["requests"], opts["warmup"])
            shares = [float(s) for s in opts["sweep_shares"].split(",") if s]
            if not opts["skip_sweep"]:
                result["sweep"] = self.sweeps(shares)
        if not opts["skip_pdf"]:
            result["pdf"] = run_benchmark(opts["pdf_entries"])
        result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        self.report(result)
        path = Path(opts["json"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2, default=str) + "\n")
        self.stdout.write(f"Written to {path}")

    # --- pages ---------------------------------------------------------------------------

    def subjects(self):
        """A social worker with a median caseload in a scale team, that team's manager,
        the service manager, and the open case with the longest history."""
        workers = list(
            User.objects.filter(team__in=demo_scale.scale_teams(), groups__name=roles.SOCIAL_WORKER)
            .annotate(
                open_cases=Count(
                    "allocated_cases", distinct=True, filter=Q(allocated_cases__status="open")
                )
            )
            .order_by("open_cases", "pk")
        )
        if not workers:
            raise CommandError("No scale workers found")
        worker = workers[len(workers) // 2]
        manager = User.objects.get(team=worker.team, groups__name=roles.TEAM_MANAGER)
        service = User.objects.get(username=demo_scale.SERVICE_MANAGER)
        case = (
            Case.objects.filter(team__in=demo_scale.scale_teams(), status="open")
            .annotate(n=Count("chronology_entries"))
            .order_by("-n", "pk")
            .first()
        )
        case_worker = case.allocated_workers.first()
        return {
            "worker": worker,
            "manager": manager,
            "service": service,
            "case": case,
            "case_worker": case_worker,
        }

    def pages(self, n, warmup):
        s = self.subjects()
        worker = s["worker"]
        open_cases = Case.objects.filter(allocated_workers=worker, status="open").count()
        all_cases = Case.objects.filter(allocated_workers=worker).count()
        case = s["case"]
        entries = case.chronology_entries.count()
        visits = case.visits.count()
        self.stdout.write(
            f"Users: {worker.username} ({open_cases} open cases of {all_cases}), "
            f"{s['manager'].username}, {s['service'].username}; case {case.reference} "
            f"({visits} visits, {entries} chronology entries)"
        )
        targets = [
            ("My work (worker)", "dashboards:mine", (), worker, PAGE_BUDGET_MS),
            ("Team dashboard (manager)", "dashboards:team", (), s["manager"], PAGE_BUDGET_MS),
            ("Service dashboard", "dashboards:service", (), s["service"], PAGE_BUDGET_MS),
            ("Case page", "cases:detail", (case.pk,), s["case_worker"], PAGE_BUDGET_MS),
            ("Chronology page", "chronologies:list", (case.pk,), s["case_worker"], None),
        ]
        results = {}
        for label, name, args, user, budget in targets:
            row = {"url_name": name, "user": user.username, "budget_ms": budget}
            url = reverse(name, args=args)
            row.update(_time_page(url, user, n=n, warmup=warmup))
            row["url"] = url
            results[label] = row
            self.stdout.write(
                f"  {label}: p95 {row.get('p95_ms')} ms, "
                f"{row.get('queries')} queries ({row['status']})"
            )
        results["_service_figures"] = _time_service_figures(s["service"], n=5)
        self.stdout.write(
            f"  Service figures worked out (the periodic task, per service "
            f"manager): median {results['_service_figures']['median_ms']} ms"
        )
        results["_subjects"] = {
            "worker_open_cases": open_cases,
            "worker_all_cases": all_cases,
            "case_visits": visits,
            "case_chronology_entries": entries,
        }
        return results

    # --- the sweep -----------------------------------------------------------------------

    def sweeps(self, shares):
        from cases.services import escalation_refresh, escalations_sweep

        cases = Case.objects.count()
        today = timezone.localdate()
        runs = []
        for share in shares:
            count = round(cases * share)
            run = {"share": share, "due_added": count}
            try:
                with transaction.atomic():
                    demo_scale.add_due_escalations(
                        count=count, rng=random.Random(count), today=today
                    )
                    now = timezone.now()
                    run["active_due"] = _active_due(today)
                    with _QueryCounter() as queries:
                        started = time.perf_counter()
                        first = escalations_sweep(now=now)
                        run["first_s"] = round(time.perf_counter() - started, 3)
                    run["first_queries"] = queries.count
                    run["first_result"] = first
                    started = time.perf_counter()
                    again = escalations_sweep(now=now)
                    run["again_s"] = round(time.perf_counter() - started, 3)
                    run["again_result"] = again
                    raise Rollback
            except Rollback:
                pass
            # The same work one escalation at a time (how the sweep used to run).
            try:
                with transaction.atomic():
                    demo_scale.add_due_escalations(
                        count=count, rng=random.Random(count), today=today
                    )
                    now = timezone.now()
                    ids = list(
                        Escalation.objects.filter(
                            state__in=Escalation.ACTIVE_STATES,
                            due_date__lte=today + datetime.timedelta(days=14),
                        ).values_list("pk", flat=True)
                    )
                    started = time.perf_counter()
                    for pk in ids:
                        escalation_refresh(pk, now=now)
                    run["one_at_a_time_s"] = round(time.perf_counter() - started, 3)
                    raise Rollback
            except Rollback:
                pass
            run["budget_s"] = SWEEP_BUDGET_S
            runs.append(run)
            self.stdout.write(
                f"  sweep with {run['active_due']} due: {run['first_s']} s first "
                f"({run['first_queries']} queries), {run['again_s']} s again; "
                f"one at a time {run['one_at_a_time_s']} s"
            )
        return runs

    # --- the report ------------------------------------------------------------------------

    def report(self, r):
        w = self.stdout.write
        m = r["machine"]
        w("")
        w(
            f"Benchmark at {r['when']} on {m['cores']} cores, PostgreSQL {m['postgresql']}, "
            f"commit {m['commit']}"
        )
        d = r["data"]
        w(
            f"Data: {d['cases']} cases, {d['people']} people, {d['visits']} visits, "
            f"{d['chronology_entries']} chronology entries, {d['escalations']} escalations"
        )
        w("")
        w(f"{'what':<28} {'median ms':>10} {'p95 ms':>8} {'queries':>8} {'budget':>8}  ok")
        for label, row in r["pages"].items():
            if label.startswith("_"):
                continue
            budget = row["budget_ms"]
            ok = (
                "-"
                if budget is None
                else ("yes" if row["p95_ms"] <= budget and row["status"] == 200 else "NO")
            )
            w(
                f"{label:<28} {row['median_ms']:>10} {row['p95_ms']:>8} {row['queries']:>8} "
                f"{budget or '-':>8}  {ok}"
                + ("" if row["status"] == 200 else f" (HTTP {row['status']})")
            )
        figures = r["pages"].get("_service_figures")
        if figures:
            w(
                f"{'Service figures worked out':<28} {figures['median_ms']:>10} "
                f"{figures['p95_ms']:>8} {figures['queries']:>8} {'-':>8}  -  (every "
                f"{settings.SERVICE_DASHBOARD_REFRESH_SECONDS // 60} min by the beat task; the "
                "service page reads them)"
            )
        for run in r["sweep"]:
            label = f"Sweep, {run['active_due']} due ({run['share']:.1%})"
            ok = "yes" if run["first_s"] <= run["budget_s"] else "NO"
            w(
                f"{label:<28} {run['first_s'] * 1000:>10.0f} {'':>8} {run['first_queries']:>8} "
                f"{run['budget_s'] * 1000:>8.0f}  {ok}  (again {run['again_s'] * 1000:.0f} ms; "
                f"one at a time {run['one_at_a_time_s'] * 1000:.0f} ms)"
            )
        if r["pdf"]:
            p = r["pdf"]
            seconds = p["seconds"]
            w(
                f"{'Chronology PDF, ' + str(p.get('entries')) + ' entries':<28} "
                f"{seconds * 1000:>10.0f} {'':>8} {'':>8} {'':>8}  -  "
                f"({p.get('pages')} pages, peak {p.get('peak_rss_mb')} MB)"
            )


def _time_page(url, user, *, n, warmup) -> dict:
    client = Client()
    client.force_login(user)
    status = None
    for _ in range(warmup):
        status = client.get(url).status_code
    if status != 200:
        return {"status": status}
    with _QueryCounter() as queries:
        client.get(url)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        status = response.status_code if response.status_code != 200 else status
    times.sort()
    return {
        "status": status,
        "requests": n,
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, int(round(0.95 * n)) - 1)], 1),
        "max_ms": round(times[-1], 1),
        "queries": queries.count,
    }


def _time_service_figures(user, *, n) -> dict:
    """Working out the service dashboard's figures for one service manager: what the
    periodic task does for each, and the page when its figures are too old."""
    from safeguarding.dashboards.snapshots import service_snapshot_refresh

    service_snapshot_refresh(user=user)
    with _QueryCounter() as queries:
        service_snapshot_refresh(user=user)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        service_snapshot_refresh(user=user)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "requests": n,
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[max(0, int(round(0.95 * n)) - 1)], 1),
        "queries": queries.count,
    }


class _QueryCounter:
    """Counts the statements run on the default connection (however DEBUG is set)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self):
        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc):
        return self._wrapper.__exit__(*exc)


def _active_due(today) -> int:
    return Escalation.objects.filter(
        state__in=Escalation.ACTIVE_STATES, due_date__lte=today + datetime.timedelta(days=14)
    ).count()


def _data_sizes() -> dict:
    from chronologies.models import ChronologyEntry
    from visits.models import ChildSeen, Visit

    with connection.cursor() as cursor:

        def approx(model):
            # reltuples after ANALYZE: exact counts of half a million rows take a while
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [model._meta.db_table]
            )
            row = cursor.fetchone()
            return int(row[0]) if row and row[0] > 0 else model.objects.count()

        from cases.models import Person

        return {
            "cases": Case.objects.count(),
            "people": approx(Person),
            "visits": approx(Visit),
            "children_seen": approx(ChildSeen),
            "chronology_entries": approx(ChronologyEntry),
            "escalations": Escalation.objects.count(),
        }


def _pg_version() -> str:
    if connection.vendor != "postgresql":
        return connection.vendor
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


def _python() -> str:
    import platform

    return platform.python_version()


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            cwd=settings.BASE_DIR,
        ).stdout.strip()
    except OSError:
        return ""

"""Fault-injection suite: do escalations and their notifications happen exactly once,
whatever fails around them?

    python scripts/faults/run.py                 # 1,000 cases, faults a-f
    python scripts/faults/run.py --short         # 50 cases, faults a-d (CI)
    python scripts/faults/run.py --only a,e --cases 200

It starts its own PostgreSQL cluster, its own Redis (no persistence) and its own SMTP
sink, so that it may stop and restart them, and the project's real bin/worker and
bin/beat against them. It builds the cases once (each with a child, an allocated worker
and a team manager with email addresses, and three defaulted visits), keeps them as a
template database, and runs each scenario on a fresh copy: it records every case's
fourth defaulted visit through visits.services.visit_log in this process (so the
evaluation is enqueued on commit, as in production) while injecting one fault:

  a  Redis restarts without persistence while evaluations are queued
  b  the worker is killed with SIGKILL mid-flight and started again
  c  every evaluation is delivered twice, with two workers consuming
  d  two sweeps run at the same moment (the escalations and visits sweeps, twice at once)
  e  PostgreSQL is unreachable for 20 s (stopped, then started again)
  f  SMTP refuses connections for a minute (the sink stopped, then started again)

Then it waits until everything has settled (or a deadline passes) and counts
escalations, in-app notifications and emails received at the sink against what the
data says is expected: one escalation per case, and one in-app notification and one
email per recipient (the case's allocated workers and its team's managers). It prints
a table, writes it as Markdown and JSON (var/faults/ unless --out), and exits 1 if any
scenario has anything duplicated or missing. Every process and temporary directory it
started is removed at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from infra import ROOT, Postgres, Proc, Redis, Registry, Sink, SuiteError, wait_until  # noqa: E402

SCENARIOS = {
    "a": "Redis restarts without persistence",
    "b": "worker killed (SIGKILL), started again",
    "c": "every evaluation delivered twice, two workers",
    "d": "two sweeps at the same moment",
    "e": "PostgreSQL unreachable for {pg_outage:g} s",
    "f": "SMTP refuses connections for {smtp_outage:g} s",
}
SHORT = "abcd"
QUEUES = ["celery", "sweeps", "notifications"]
TEMPLATE = "faults_template"
# Settings of the caller that must not reach the processes the suite starts.
NOT_INHERITED = {
    "DJANGO_SETTINGS_MODULE",
    "TESTING",
    "DEMO_MODE",
    "DJANGO_DEBUG",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_TASK_ALWAYS_EAGER",
    "CELERY_TASK_DEFAULT_QUEUE",
    "CELERY_QUEUES",
    "CELERY_HOSTNAME",
    "VAR_DIR",
    "EMAIL_BACKEND",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "SECURE_COOKIES",
    "PYTEST_XDIST_WORKER",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Fault-injection suite for escalations and notifications (issue 12).",
        epilog="Scenarios: " + "; ".join(f"{k}: {v}" for k, v in SCENARIOS.items()),
    )
    parser.add_argument("--cases", type=int, help="cases per scenario (1000; --short: 50)")
    parser.add_argument("--short", action="store_true", help="50 cases, faults a-d (CI)")
    parser.add_argument("--only", help="scenarios to run, e.g. a,b (default: all; --short a-d)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "var" / "faults", help="results and logs (var/faults)"
    )
    parser.add_argument(
        "--settle-timeout",
        type=float,
        default=330,
        help="seconds after a fault ends to wait for everything expected; long enough for "
        "an email claimed by a sender that was stopped to be claimed again (330)",
    )
    parser.add_argument(
        "--sweep-seconds",
        type=int,
        help="ESCALATION_SWEEP_SECONDS for beat (10; --short: 5)",
    )
    parser.add_argument(
        "--writers", type=int, default=2, help="threads recording visits at once (2)"
    )
    parser.add_argument("--pg-outage", type=float, default=20, help="fault e, seconds (20)")
    parser.add_argument(
        "--smtp-latency",
        type=float,
        default=0.02,
        help="seconds the SMTP sink takes to accept each recipient, as a relay does (0.02)",
    )
    parser.add_argument("--smtp-outage", type=float, default=60, help="fault f, seconds (60)")
    args = parser.parse_args(argv)
    args.cases = args.cases or (50 if args.short else 1000)
    args.sweep_seconds = args.sweep_seconds or (5 if args.short else 10)
    only = (args.only or (SHORT if args.short else "".join(SCENARIOS))).replace(",", "")
    unknown = set(only) - set(SCENARIOS)
    if unknown or not only:
        parser.error(f"--only takes letters among {','.join(SCENARIOS)}")
    args.scenarios = [k for k in SCENARIOS if k in only]
    return args


def scenario_title(key: str, args: argparse.Namespace) -> str:
    return SCENARIOS[key].format(pg_outage=args.pg_outage, smtp_outage=args.smtp_outage)


# --- a scenario's run ---------------------------------------------------------------------------


@dataclass
class Outcome:
    key: str
    title: str
    counts: dict = field(default_factory=dict)
    recovery_seconds: float | None = None
    settled: bool = False
    notes: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)

    @property
    def flawed(self) -> bool:
        """Anything duplicated or missing, or still pending at the deadline (an email
        sent but not marked sent may yet be sent again)."""
        import world

        return world.flawed(self.counts) or not self.settled

    def as_json(self) -> dict:
        return {
            "fault": self.key,
            "title": self.title,
            **self.counts,
            "recovery_seconds": self.recovery_seconds,
            "settled": self.settled,
            "ok": not self.flawed,
            "notes": self.notes,
            "seconds": self.timings,
        }


class Fault:
    """What a scenario does around the recording. `fault_end` is when the system was
    left to recover: recovery time is counted from it."""

    workers = 1  # workers consuming the queues

    def __init__(self, suite: Suite, outcome: Outcome):
        self.suite = suite
        self.outcome = outcome
        self.fault_end: float | None = None

    def before(self) -> None:
        pass

    def during(self, index: int, total: int) -> None:
        """Called before recording case number `index` (0-based)."""

    def after(self) -> None:
        if self.fault_end is None:
            self.fault_end = time.time()

    def note(self, text: str) -> None:
        self.outcome.notes.append(text)


class RedisRestart(Fault):
    """(a) At half way (or as soon after as messages are waiting in the queue), Redis is
    shut down without saving and started again, empty, while the recording goes on."""

    done = False

    def during(self, index: int, total: int) -> None:
        if self.done or index < total // 2:
            return
        redis = self.suite.redis
        queued = redis.queued(QUEUES)
        if queued == 0 and index < (3 * total) // 4:
            return  # wait for a backlog, up to three quarters of the way
        unacked = redis.unacked()
        self.done = True
        self.note(
            f"Redis restarted after {index} of {total} fourth defaults: {queued} queued "
            f"and {unacked} unacknowledged messages lost"
        )

        def restart():  # while the recording goes on
            redis.restart()
            self.fault_end = time.time()

        self.thread = threading.Thread(target=restart, daemon=True)
        self.thread.start()

    def after(self) -> None:
        self.thread.join()
        super().after()


class WorkerKill(Fault):
    """(b) From half way, while the recording goes on, the worker is killed with SIGKILL
    (its whole process group) at the worst moment found within a few seconds: holding a
    send task while emails are arriving at the sink, that is in the middle of sending.
    A new worker is started at once."""

    def during(self, index: int, total: int) -> None:
        if index != total // 2:
            return
        self.thread = threading.Thread(target=self._kill, args=(index, total), daemon=True)
        self.thread.start()

    def _kill(self, index: int, total: int) -> None:
        moment = self.suite.wait_for_sending()
        in_flight = self.suite.redis.unacked_tasks()
        worker = self.suite.workers[0]
        worker.kill()
        worker.popen.wait(timeout=30)
        self.suite.workers[0] = self.suite.start_worker(1)
        self.suite.wait_ready([self.suite.workers[0]])
        self.fault_end = time.time()
        held = ", ".join(sorted(f"{n} x {t}" for t, n in Counter(in_flight).items()))
        self.note(
            f"worker killed {moment}, after {index} of {total} fourth defaults, holding "
            f"{held or 'no task'}; a new worker started"
        )

    def after(self) -> None:
        self.thread.join()
        super().after()


class DoubleDelivery(Fault):
    """(c) A second worker consumes the same queues, and every task this process
    publishes while recording (the evaluations) is published a second time, with the
    same task id: as a redelivery looks."""

    workers = 2

    def before(self) -> None:
        from celery.signals import after_task_publish

        from safeguarding.celery import app

        local = threading.local()
        self.published: dict[str, int] = {}

        def again(sender=None, body=None, headers=None, routing_key=None, **kwargs):
            if getattr(local, "inside", False) or not headers or not body:
                return
            local.inside = True
            try:
                args, kw, _embed = body
                app.send_task(
                    sender, args=args, kwargs=kw, task_id=headers["id"], queue=routing_key
                )
                self.published[sender] = self.published.get(sender, 0) + 1
            finally:
                local.inside = False

        self._again = again
        after_task_publish.connect(again, weak=False)

    def after(self) -> None:
        from celery.signals import after_task_publish

        after_task_publish.disconnect(self._again)
        super().after()
        sent = ", ".join(f"{n} x {name}" for name, n in self.published.items()) or "nothing"
        self.note(f"published a second time: {sent}; two workers consuming")


class ConcurrentSweeps(Fault):
    """(d) A quarter, half and three quarters of the way and at the end, two processes
    each run every sweep of the beat schedule at the same moment, and each sweep task is
    published twice for the worker, while evaluations are in flight."""

    def before(self) -> None:
        self.pairs: list[Proc] = []
        self.marks = set()

    def during(self, index: int, total: int) -> None:
        mark = 4 * index // total
        if index and mark not in self.marks and mark in (1, 2, 3):
            self.marks.add(mark)
            self._sweep_twice()

    def _sweep_twice(self) -> None:
        from django.conf import settings

        from safeguarding.celery import app

        at = time.time() + 6  # once both have started Django
        for _ in range(2):
            self.pairs.append(
                self.suite.start(
                    f"sweep{len(self.pairs) + 1}",
                    [self.suite.python, str(Path(__file__).parent / "sweep.py"), "--at", str(at)],
                )
            )
        for entry in settings.CELERY_BEAT_SCHEDULE.values():
            if "sweep" in entry["task"]:
                options = {k: v for k, v in entry.get("options", {}).items() if k != "expires"}
                for _ in range(2):
                    app.send_task(entry["task"], **options)

    def after(self) -> None:
        self._sweep_twice()
        failed = 0
        for proc in self.pairs:
            try:
                proc.popen.wait(timeout=600)
            except subprocess.TimeoutExpired:
                proc.stop()
            failed += proc.popen.returncode != 0
        super().after()
        self.note(
            f"{len(self.pairs) // 2} times two sweep processes at once "
            f"({failed} of {len(self.pairs)} raised), each sweep task also published twice"
        )


class PostgresOutage(Fault):
    """(e) From half way, at the worst moment found within a few seconds (in the middle
    of sending emails), PostgreSQL is stopped (immediate shutdown: connections cut) and
    started again after the outage; the recording waits for it, as a worker would."""

    def during(self, index: int, total: int) -> None:
        if index != total // 2:
            return
        seconds = self.suite.args.pg_outage

        def outage():
            moment = self.suite.wait_for_sending()
            self.suite.pg.stop(mode="immediate")
            time.sleep(seconds)  # the outage itself
            self.suite.pg.start()
            self.fault_end = time.time()
            self.note(
                f"PostgreSQL stopped {moment}, from {index} of {total} fourth defaults, "
                f"for {seconds:g} s"
            )

        self.thread = threading.Thread(target=outage, daemon=True)
        self.thread.start()

    def after(self) -> None:
        self.thread.join()
        super().after()


class SmtpOutage(Fault):
    """(f) The SMTP sink is stopped before the first fourth default (connections are
    refused) and started again after the outage."""

    def before(self) -> None:
        seconds = self.suite.args.smtp_outage
        self.suite.sink.stop()

        def outage():
            time.sleep(seconds)  # the outage itself
            self.suite.sink.start()
            self.fault_end = time.time()

        self.thread = threading.Thread(target=outage, daemon=True)
        self.thread.start()
        self.note(f"SMTP refused connections for {seconds:g} s from the first fourth default")

    def after(self) -> None:
        self.thread.join()
        super().after()


FAULTS: dict[str, type[Fault]] = {
    "a": RedisRestart,
    "b": WorkerKill,
    "c": DoubleDelivery,
    "d": ConcurrentSweeps,
    "e": PostgresOutage,
    "f": SmtpOutage,
}


# --- the suite ------------------------------------------------------------------------------------


class Suite:
    def __init__(self, args: argparse.Namespace, registry: Registry):
        self.args = args
        self.registry = registry
        self.python = sys.executable
        self.out: Path = args.out
        self.logs = self.out / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        for old in self.logs.iterdir():
            old.unlink()
        self.pg = Postgres(registry, self.logs)
        self.redis = Redis(registry, self.logs)
        self.sink = Sink(registry, self.logs, self.python, latency=args.smtp_latency)
        self.var_dir = registry.temp_dir("var")
        self.procs: list[Proc] = []
        self.workers: list[Proc] = []
        self.key = "setup"
        self.env = self._env(TEMPLATE)

    def _env(self, database: str) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
        env.update(
            DJANGO_SETTINGS_MODULE="safeguarding.settings",
            PATH=f"{Path(self.python).parent}{os.pathsep}{env.get('PATH', '')}",
            PYTHONUNBUFFERED="1",
            SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            DATABASE_URL=self.pg.url(database),
            CELERY_BROKER_URL=self.redis.url,
            VAR_DIR=str(self.var_dir),
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(self.sink.port),
            # A sender stopped mid-run leaves what it claimed to the next once the claim
            # lapses: a shorter send budget and mail timeout allow a shorter claim than
            # the defaults (60 s, 10 s, 300 s), so the suite does not wait minutes.
            EMAIL_TIMEOUT="5",
            NOTIFICATIONS_SEND_BUDGET_SECONDS="20",
            NOTIFICATIONS_CLAIM_SECONDS="90",
            CELERY_QUEUES=",".join(QUEUES),
            CELERY_CONCURRENCY="2",
            ESCALATION_SWEEP_SECONDS=str(self.args.sweep_seconds),
            NOTIFICATIONS_SEND_SECONDS=str(max(1, self.args.sweep_seconds // 2)),
        )
        return env

    # processes

    def start(self, name: str, args: list[str]) -> Proc:
        proc = Proc(name, args, env=self.env, log=self.logs / f"{self.key}-{name}.log")
        self.procs.append(proc)
        return proc

    def start_worker(self, n: int) -> Proc:
        worker = Proc(
            f"worker{n}",
            [str(ROOT / "bin" / "worker")],
            env={**self.env, "CELERY_HOSTNAME": f"faults{n}@%h"},
            log=self.logs / f"{self.key}-worker{n}.log",
        )
        worker.ready_text = " ready."
        self.procs.append(worker)
        return worker

    def start_beat(self) -> Proc:
        (self.var_dir / "celerybeat-schedule").unlink(missing_ok=True)
        beat = self.start("beat", [str(ROOT / "bin" / "beat")])
        beat.ready_text = "beat: Starting..."
        return beat

    def wait_ready(self, procs: list[Proc]) -> None:
        """Wait for processes started together (their start-up overlaps)."""

        def ready():
            for proc in procs:
                if not proc.alive():
                    raise SuiteError(f"{proc.name} exited:\n{proc.output()[-3000:]}")
            return all(proc.ready_text in proc.output() for proc in procs)

        names = ", ".join(proc.name for proc in procs)
        wait_until(f"{names} to be ready", ready, 120, every=0.2)

    def stop_processes(self) -> None:
        for proc in self.procs:
            if proc.alive():
                proc.kill(signal.SIGTERM)
        for proc in self.procs:
            proc.stop(timeout=20)
        self.procs, self.workers = [], []

    def wait_for_sending(self, seconds: float = 15) -> str:
        """Wait for the worst moment to break something: a send task held by the worker
        while emails arrive at the sink, so in the middle of a batch. Says which moment
        it was."""
        size = self.sink.received_bytes()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            before, size = size, self.sink.received_bytes()
            if size > before and any("notification" in t for t in self.redis.unacked_tasks()):
                return "while emails were being sent"
            time.sleep(0.005)
        return f"(no email was being sent within {seconds:g} s)"

    # the database the suite's own process uses

    def use_database(self, name: str) -> None:
        from django.db import connections

        connections.close_all()
        connections["default"].settings_dict["NAME"] = name

    # the run

    def prepare(self) -> None:
        """Migrate and build the cases once, in the template every scenario copies."""
        t0 = time.time()
        self.pg.create_database(TEMPLATE)
        os.environ.update(self.env)
        for name in NOT_INHERITED - set(self.env):
            os.environ.pop(name, None)
        import django

        django.setup()
        import world
        from django.core.management import call_command
        from django.utils import timezone

        call_command("migrate", interactive=False, verbosity=0)
        migrated = time.time()
        world.build(self.args.cases, now=timezone.now())
        self.plan = world.plan()
        self.use_database("postgres")  # nothing may hold the template open
        self.setup_seconds = {"migrate": migrated - t0, "build": time.time() - migrated}
        log(
            f"migrated in {migrated - t0:.0f} s; built {self.args.cases} cases in "
            f"{time.time() - migrated:.0f} s"
        )

    def run_scenario(self, key: str) -> Outcome:

        self.key = key
        outcome = Outcome(key, scenario_title(key, self.args))
        timings = outcome.timings
        t0 = time.time()
        database = f"faults_{key}"
        self.pg.create_database(database, template=TEMPLATE)
        self.use_database(database)
        self.env = self._env(database)
        self.redis.client().flushall()
        sink_file = self.logs / f"{key}-received.jsonl"
        sink_file.unlink(missing_ok=True)
        self.sink.start(sink_file)
        fault = FAULTS[key](self, outcome)
        self.workers = [self.start_worker(n + 1) for n in range(fault.workers)]
        self.wait_ready([*self.workers, self.start_beat()])
        fault.before()
        timings["start"] = time.time() - t0
        log(f"{key}: {outcome.title}: recording {len(self.plan.targets)} fourth defaults")

        t1 = time.time()
        recorded = self.record(fault)
        recorded_at = time.time()
        timings["record"] = recorded_at - t1
        fault.after()
        assert fault.fault_end is not None
        if recorded.saved_but_raised or recorded.retried:
            errors = ", ".join(f"{n} {name}" for name, n in recorded.errors.items())
            outcome.notes.append(
                f"recording: the service raised {sum(recorded.errors.values())} times "
                f"({errors}); {recorded.saved_but_raised} visits were saved nonetheless, "
                f"{recorded.retried} recorded again"
            )
        log(f"{key}: recorded in {recorded_at - t1:.0f} s; waiting for it to settle")

        self.settle(outcome, fault.fault_end, sink_file)
        timings["settle"] = time.time() - recorded_at
        self.stop_processes()
        self.sink.stop()
        self.use_database("postgres")
        self.pg.drop_database(database)
        timings["total"] = time.time() - t0
        timings = {k: round(v, 1) for k, v in timings.items()}
        outcome.timings = timings
        return outcome

    def record(self, fault: Fault):
        """Record every case's fourth default, in `--writers` threads at once (as several
        workers record visits at the same time), calling the fault's hook before each."""
        import world
        from django.db import connection

        users = world.load_users(self.plan)
        targets = list(enumerate(self.plan.targets))
        total = len(targets)
        lock = threading.Lock()
        results: list[world.Recorded] = []
        errors: list[BaseException] = []

        def writer():
            mine = world.Recorded()
            try:
                while not errors:
                    with lock:
                        if not targets:
                            break
                        index, target = targets.pop(0)
                        fault.during(index, total)
                    world.record_fourth_default(target, users, mine)
            except BaseException as exc:
                errors.append(exc)
            finally:
                results.append(mine)
                connection.close()

        threads = [threading.Thread(target=writer) for _ in range(self.args.writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return world.Recorded.merge(results)

    def settle(self, outcome: Outcome, fault_end: float, sink_file: Path) -> None:
        """Poll until everything expected is there, nothing is waiting (no queued
        message, no unsent email) and nothing has changed for two sweep intervals; or
        until the deadline (for what is at rest by then, the deadline and those two
        intervals). Notes when everything expected was first there."""
        import world

        quiet = 2 * self.args.sweep_seconds + 2
        deadline = fault_end + self.args.settle_timeout
        reader = SinkReader(sink_file)
        first_complete: float | None = None
        last: tuple | None = None
        changed = time.time()
        while True:
            records = reader.read()
            snap = world.read_when_reachable(
                lambda records=records: world.snapshot(self.plan, records), time.monotonic() + 120
            )
            counts = world.tally(self.plan, snap)
            queued = self.redis.queued(QUEUES)
            if first_complete is None and world.complete(counts):
                first_complete = snap.at
            fingerprint = (*snap.fingerprint(), queued)
            if fingerprint != last:
                last, changed = fingerprint, time.time()
            waiting = queued or snap.unsent_emails
            at_rest = first_complete and not waiting
            if at_rest and time.time() - changed >= quiet:
                outcome.settled = True
                break
            # At rest by the deadline: the quiet period may run on past it, once.
            if time.time() > deadline + (quiet if at_rest else 0):
                outcome.notes.append(
                    f"not settled {self.args.settle_timeout:g} s after the fault ended "
                    f"({queued} messages queued, {snap.unsent_emails} emails unsent)"
                )
                break
            time.sleep(1)
        outcome.counts = counts
        if first_complete is not None:
            outcome.recovery_seconds = round(max(0.0, first_complete - fault_end), 1)


class SinkReader:
    """The sink's records so far, read on from where the last read stopped."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.records: list[dict] = []

    def read(self) -> list[dict]:
        if self.path.exists():
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
            end = data.rfind(b"\n") + 1  # a line still being written waits for next time
            for line in data[:end].splitlines():
                if line.strip():
                    self.records.append(json.loads(line))
            self.offset += end
        return self.records


# --- the report ----------------------------------------------------------------------------------


COLUMNS = [
    "fault",
    "escalations expected",
    "created",
    "duplicates",
    "missing",
    "in-app expected",
    "sent",
    "duplicated",
    "lost",
    "emails expected",
    "received",
    "duplicated",
    "lost",
    "repeats (same Message-ID)",
    "recovery",
]


def row(o: Outcome) -> list[str]:
    e, a, m = o.counts["escalations"], o.counts["in_app"], o.counts["email"]
    if o.recovery_seconds is None:
        recovery = "not recovered"
    elif o.settled:
        recovery = f"{o.recovery_seconds:.0f} s"
    else:
        recovery = f"{o.recovery_seconds:.0f} s, not settled"
    return [
        f"({o.key}) {o.title}",
        *(str(e[k]) for k in ("expected", "created", "duplicates", "missing")),
        *(str(a[k]) for k in ("expected", "delivered", "duplicated", "missing")),
        *(str(m[k]) for k in ("expected", "delivered", "duplicated", "missing")),
        str(m["same_message_id_repeated"]),
        recovery,
    ]


def markdown(outcomes: list[Outcome], args: argparse.Namespace, setup: dict) -> str:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "| " + " | ".join(["---"] + ["---:"] * (len(COLUMNS) - 1)) + " |",
    ]
    lines += ["| " + " | ".join(row(o)) + " |" for o in outcomes]
    lines.append("")
    for o in outcomes:
        t = o.timings
        extra = [
            f"scenario {t.get('total', 0):.0f} s (start {t.get('start', 0):.0f} s, "
            f"record {t.get('record', 0):.0f} s, settle {t.get('settle', 0):.0f} s)"
        ]
        recorded = o.counts["escalations"]["fourth_defaults_in_database"]
        if recorded != args.cases:
            extra.append(
                f"only {recorded} of the {args.cases} fourth defaults recorded are in the "
                "database: the suite's recording lost some"
            )
        unexpected = o.counts["in_app"]["unexpected"] + o.counts["email"]["unexpected"]
        if unexpected:
            extra.append(f"{unexpected} notifications for another event or person")
        repeated = o.counts["email"]["same_message_id_repeated"]
        if repeated:
            extra.append(
                f"{repeated} email{'s' if repeated != 1 else ''} in flight when the sender "
                "was stopped reached the sink again with the same Message-ID (a relay drops "
                "the repeat; counted apart, not as a duplicate)"
            )
        if o.counts["email"]["unsent_in_outbox"]:
            extra.append(f"{o.counts['email']['unsent_in_outbox']} emails unsent in the outbox")
        lines.append(f"- ({o.key}) " + "; ".join(o.notes + extra) + ".")
    lines.append(
        f"- {args.cases} cases per scenario; beat sweeps every {args.sweep_seconds} s; "
        f"setup (migrate {setup.get('migrate', 0):.0f} s, build {setup.get('build', 0):.0f} s)."
    )
    return "\n".join(lines) + "\n"


def log(text: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    registry = Registry()

    def terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    outcomes: list[Outcome] = []
    suite: Suite | None = None
    started = time.time()
    try:
        suite = Suite(args, registry)
        suite.prepare()
        for key in args.scenarios:
            try:
                outcomes.append(suite.run_scenario(key))
            finally:
                suite.stop_processes()
            o = outcomes[-1]
            log(
                f"{key}: {'ok' if not o.flawed else 'DUPLICATED OR MISSING'}: " + " | ".join(row(o))
            )
    except KeyboardInterrupt:
        log("interrupted: stopping everything it started")
        return 130
    except SuiteError as exc:
        log(f"the suite could not run: {exc}")
        return 2
    finally:
        if suite is not None:
            suite.stop_processes()
        registry.close()
    setup = getattr(suite, "setup_seconds", {})
    table = markdown(outcomes, args, setup)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "faults.md").write_text(table)
    (args.out / "faults.json").write_text(
        json.dumps(
            {
                "cases": args.cases,
                "sweep_seconds": args.sweep_seconds,
                "settle_timeout": args.settle_timeout,
                "setup_seconds": {k: round(v, 1) for k, v in setup.items()},
                "total_seconds": round(time.time() - started, 1),
                "scenarios": [o.as_json() for o in outcomes],
            },
            indent=2,
        )
        + "\n"
    )
    print()
    print(table)
    print(f"written: {args.out / 'faults.md'}, {args.out / 'faults.json'}")
    return 1 if any(o.flawed for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())

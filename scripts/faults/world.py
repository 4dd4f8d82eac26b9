"""The Django side of the fault-injection suite: build the cases, bring each to its
fourth default through the real visit service, and count what came of it.

Imported only after django.setup(), with settings pointing at the suite's own
PostgreSQL and Redis (run.py).
"""

from __future__ import annotations

import datetime
import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from accounts import roles
from accounts.models import Notification, Team, User
from cases.models import Case, Escalation, Membership, Person
from visits import services as visit_services
from visits.models import Visit

REFERENCE_PREFIX = "FLT-"
REFERENCE = re.compile(r"FLT-\d{5}")
CASES_PER_TEAM = 100
WORKERS_PER_TEAM = 5
PRIOR_DEFAULTS_DAYS_AGO = (10, 7, 4)  # the three defaults already recorded


# --- the cases ---------------------------------------------------------------------------


def build(n_cases: int, *, now: datetime.datetime) -> None:
    """Teams of a manager and social workers, each with an email address; `n_cases`
    open cases spread over them, each with a child living in the household, one
    allocated worker and three defaulted visits already recorded. Bulk inserts: this is
    the scene, not what is tested (so the rows have no change history)."""
    today = timezone.localdate(now)
    n_teams = max(2, math.ceil(n_cases / CASES_PER_TEAM))
    password = make_password(None)  # nobody signs in
    with transaction.atomic():
        teams = Team.objects.bulk_create(
            [Team(code=f"faults-{i:02d}", name=f"Fault team {i:02d}") for i in range(n_teams)]
        )
        managers, workers = [], {}
        for i, team in enumerate(teams):
            managers.append(
                User(
                    username=f"tm{i:02d}",
                    first_name="Manager",
                    last_name=f"Team {i:02d}",
                    email=f"tm{i:02d}@faults.example",
                    team=team,
                    password=password,
                    date_joined=now,
                )
            )
            workers[team.pk] = [
                User(
                    username=f"sw{i:02d}-{j}",
                    first_name=f"Worker {j}",
                    last_name=f"Team {i:02d}",
                    email=f"sw{i:02d}-{j}@faults.example",
                    team=team,
                    password=password,
                    date_joined=now,
                )
                for j in range(WORKERS_PER_TEAM)
            ]
        User.objects.bulk_create(managers + [w for ws in workers.values() for w in ws])
        manager_group = Group.objects.get_or_create(name=roles.TEAM_MANAGER)[0]
        worker_group = Group.objects.get_or_create(name=roles.SOCIAL_WORKER)[0]
        Through = User.groups.through
        Through.objects.bulk_create(
            [Through(user_id=m.pk, group_id=manager_group.pk) for m in managers]
            + [
                Through(user_id=w.pk, group_id=worker_group.pk)
                for ws in workers.values()
                for w in ws
            ]
        )
        opened = today - datetime.timedelta(days=30)
        cases = Case.objects.bulk_create(
            [
                Case(
                    reference=f"{REFERENCE_PREFIX}{i + 1:05d}",
                    family_name=f"Family {i + 1:05d}",
                    team=teams[i % n_teams],
                    opened_on=opened,
                    summary="Generated for the fault-injection suite.",
                    created_at=now,
                    created_by=managers[i % n_teams],
                )
                for i in range(n_cases)
            ]
        )
        allocated = {
            case.pk: workers[case.team_id][(i // n_teams) % WORKERS_PER_TEAM]
            for i, case in enumerate(cases)
        }
        Case.allocated_workers.through.objects.bulk_create(
            [
                Case.allocated_workers.through(case_id=case_id, user_id=user.pk)
                for case_id, user in allocated.items()
            ]
        )
        children = Person.objects.bulk_create(
            [
                Person(
                    first_name="Child",
                    last_name=case.family_name,
                    date_of_birth=datetime.date(2018, 4, 2),
                    created_at=now,
                    created_by=allocated[case.pk],
                )
                for case in cases
            ]
        )
        Membership.objects.bulk_create(
            [
                Membership(
                    case=case,
                    person=child,
                    relationship=Membership.Relationship.CHILD,
                    start_date=opened,
                )
                for case, child in zip(cases, children, strict=True)
            ]
        )
        visits = []
        for case in cases:
            worker = allocated[case.pk]
            for days in PRIOR_DEFAULTS_DAYS_AGO:
                when = now - datetime.timedelta(days=days)
                visits.append(
                    Visit(
                        case=case,
                        planned_for=when,
                        lead_worker=worker,
                        outcome=Visit.Outcome.DEFAULTED,
                        default_reason=Visit.DefaultReason.NO_ANSWER,
                        occurred_at=when,
                        outcome_recorded_at=when,
                        outcome_recorded_by=worker,
                        created_at=when,
                        created_by=worker,
                    )
                )
        Visit.objects.bulk_create(visits, batch_size=2000)
    if Escalation.objects.exists():
        raise RuntimeError("the cases were built with an escalation already open")


@dataclass(frozen=True)
class Target:
    case_id: int
    reference: str
    worker_id: int


@dataclass
class Plan:
    """The cases to bring to a fourth default, and who is to hear of each escalation:
    worked out from the data (the case's allocated workers and its team's managers),
    not from the code under test."""

    targets: list[Target]
    recipients: dict[int, set[int]]  # case id -> user ids
    emails: dict[int, str]  # user id -> address

    @property
    def references(self) -> dict[str, int]:
        return {t.reference: t.case_id for t in self.targets}


def plan() -> Plan:
    cases = list(
        Case.objects.filter(reference__startswith=REFERENCE_PREFIX)
        .order_by("reference")
        .prefetch_related("allocated_workers")
    )
    managers: dict[int, set[int]] = {}
    for user in User.objects.filter(is_active=True, groups__name=roles.TEAM_MANAGER):
        if user.team_id is not None:
            managers.setdefault(user.team_id, set()).add(user.pk)
    targets, recipients = [], {}
    for case in cases:
        allocated = [u for u in case.allocated_workers.all() if u.is_active]
        targets.append(Target(case.pk, case.reference, allocated[0].pk))
        recipients[case.pk] = {u.pk for u in allocated} | managers.get(case.team_id, set())
    emails = {u.pk: u.email.lower() for u in User.objects.exclude(email="")}
    return Plan(targets, recipients, emails)


# --- recording the fourth default -----------------------------------------------------------


@dataclass
class Recorded:
    """How recording the fourth defaults went, as a caller of the service saw it."""

    ok: int = 0
    # The service raised although the visit was saved: the enqueue after the commit
    # failed (the broker was down) or the connection broke at the commit.
    saved_but_raised: int = 0
    retried: int = 0  # the service raised and nothing was saved: recorded again
    errors: Counter = field(default_factory=Counter)

    @classmethod
    def merge(cls, parts: list[Recorded]) -> Recorded:
        total = cls()
        for part in parts:
            total.ok += part.ok
            total.saved_but_raised += part.saved_but_raised
            total.retried += part.retried
            total.errors.update(part.errors)
        return total


def _defaults(case_id: int) -> int:
    return Visit.objects.filter(case_id=case_id, outcome=Visit.Outcome.DEFAULTED).count()


def read_when_reachable(read, deadline: float):
    """`read()` once the database answers again (it may be stopped for a while)."""
    while True:
        try:
            return read()
        except Exception:
            connection.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


def record_fourth_default(target: Target, users: dict[int, User], result: Recorded) -> None:
    """Record the fourth defaulted visit on a case through visits.services.visit_log, as
    the worker would from the doorstep, so that the evaluation is enqueued when it
    commits, as in production. If the service raises, find out from the database
    whether the visit was saved (then it stands: recording it again would be a fifth
    default) and otherwise record it again, for as long as the database is away."""
    deadline = time.monotonic() + 300
    while True:
        now = timezone.now()
        try:
            visit_services.visit_log(
                actor=users[target.worker_id],
                case=Case.objects.get(pk=target.case_id),
                data=visit_services.Outcome(
                    outcome=Visit.Outcome.DEFAULTED,
                    occurred_at=now - datetime.timedelta(minutes=5),
                    default_reason=Visit.DefaultReason.NO_ANSWER,
                ),
                now=now,
            )
            result.ok += 1
            return
        except Exception as exc:
            result.errors[type(exc).__name__] += 1
            connection.close()
            saved = read_when_reachable(lambda: _defaults(target.case_id), deadline)
            if saved > len(PRIOR_DEFAULTS_DAYS_AGO):
                result.saved_but_raised += 1
                return
            if time.monotonic() > deadline:
                raise
            result.retried += 1
            time.sleep(0.1)


def load_users(the_plan: Plan) -> dict[int, User]:
    return User.objects.in_bulk({t.worker_id for t in the_plan.targets})


# --- what came of it ----------------------------------------------------------------------------


FIRED = "fired"


def event_of_subject(subject: str) -> str:
    """Which escalation event an email announces, from its subject."""
    text = subject.lower()
    for event in ("overdue", "reminder", "withdrawn"):
        if event in text:
            return event
    return FIRED


@dataclass
class Snapshot:
    at: float
    escalations: Counter  # case id -> defaulted-visits escalations
    in_app: Counter  # (user id, case id, event) -> in-app notifications
    emails: Counter  # (address, case id, event) -> messages received at the sink
    message_ids: Counter  # Message-ID -> deliveries (per recipient)
    unsent_emails: int  # email notifications in the outbox not marked sent
    email_attempts: int  # attempts over all email notifications
    fourth_defaults: int  # cases with a fourth defaulted visit in the database

    def fingerprint(self) -> tuple:
        return (
            sum(self.escalations.values()),
            sum(self.in_app.values()),
            sum(self.emails.values()),
            self.unsent_emails,
            self.email_attempts,
        )


def snapshot(the_plan: Plan, sink_records: list[dict]) -> Snapshot:
    escalations: Counter = Counter()
    for case_id in Escalation.objects.filter(kind=Escalation.Kind.DEFAULTED_VISITS).values_list(
        "case_id", flat=True
    ):
        escalations[case_id] += 1
    in_app: Counter = Counter()
    for user_id, case_id, key in Notification.objects.filter(
        channel=Notification.Channel.IN_APP, event_key__startswith="escalation:"
    ).values_list("recipient_id", "case_id", "event_key"):
        in_app[(user_id, case_id, key.rsplit(":", 1)[-1])] += 1
    unsent = Notification.objects.filter(
        channel=Notification.Channel.EMAIL, sent_at__isnull=True
    ).count()
    attempts = sum(
        Notification.objects.filter(channel=Notification.Channel.EMAIL).values_list(
            "attempts", flat=True
        )
    )
    fourth_defaults = (
        Visit.objects.filter(outcome=Visit.Outcome.DEFAULTED, in_error=False)
        .values("case_id")
        .annotate(n=Count("id"))
        .filter(n__gt=len(PRIOR_DEFAULTS_DAYS_AGO))
        .count()
    )
    references = the_plan.references
    emails: Counter = Counter()
    message_ids: Counter = Counter()
    for record in sink_records:
        found = REFERENCE.search(record["subject"])
        case_id = references.get(found.group(0)) if found else None
        event = event_of_subject(record["subject"])
        for address in record["rcpt"]:
            message_id = record.get("message_id")
            if message_id:
                message_ids[(address.lower(), message_id)] += 1
                if message_ids[(address.lower(), message_id)] > 1:
                    # The same message again, as a sender killed between the mail server
                    # accepting it and marking it sent gives: a relay drops a repeat of
                    # a Message-ID it has delivered, so the recipient reads it once.
                    # Counted apart (same_message_id_repeated), not as a second email.
                    continue
            emails[(address.lower(), case_id, event)] += 1
    return Snapshot(
        time.time(), escalations, in_app, emails, message_ids, unsent, attempts, fourth_defaults
    )


def tally(the_plan: Plan, snap: Snapshot) -> dict:
    """Expected, created, duplicated and missing: escalations (one per case), in-app
    notifications and emails (one per expected recipient of each case's "fired" event).
    Anything for anyone else, or for another event, is counted as unexpected."""
    cases = [t.case_id for t in the_plan.targets]
    esc = {
        # The suite's own check: every fourth default it recorded is in the database.
        "fourth_defaults_in_database": snap.fourth_defaults,
        "expected": len(cases),
        "created": sum(snap.escalations[c] for c in cases),
        "duplicates": sum(max(0, snap.escalations[c] - 1) for c in cases),
        "missing": sum(1 for c in cases if snap.escalations[c] == 0),
    }
    want_app = {(u, c, FIRED) for c in cases for u in the_plan.recipients[c]}
    want_mail = {
        (the_plan.emails[u], c, FIRED)
        for c in cases
        for u in the_plan.recipients[c]
        if u in the_plan.emails
    }

    def count(want: set, got: Counter) -> dict:
        return {
            "expected": len(want),
            "delivered": sum(got[k] for k in want),
            "duplicated": sum(max(0, got[k] - 1) for k in want),
            "missing": sum(1 for k in want if got[k] == 0),
            "unexpected": sum(n for k, n in got.items() if k not in want),
        }

    email = count(want_mail, snap.emails)
    email["same_message_id_repeated"] = sum(max(0, n - 1) for n in snap.message_ids.values())
    email["unsent_in_outbox"] = snap.unsent_emails
    return {"escalations": esc, "in_app": count(want_app, snap.in_app), "email": email}


def complete(t: dict) -> bool:
    return (
        t["escalations"]["missing"] == 0
        and t["in_app"]["missing"] == 0
        and t["email"]["missing"] == 0
    )


def flawed(t: dict) -> bool:
    return (
        not complete(t)
        or t["escalations"]["duplicates"] > 0
        or t["in_app"]["duplicated"] > 0
        or t["email"]["duplicated"] > 0
    )

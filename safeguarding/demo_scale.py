"""Volume for benchmarks: N generated cases with plausible histories, bulk inserted.

`build_scale(20000, ...)` makes a county: about 60 teams of a team manager and eleven
social workers (each with a caseload of about twenty open cases), 20,000 cases, 60,000
people, about 550,000 visits with the children seen at each, hazards, meetings and escalations,
supervision sessions with case discussions and actions, and the chronology entries the
real code writes for those events (keyed by their source the same way), plus
multi-agency information.

Families drift the way real ones do: some go months without a child being seen,
defaulting visit after visit; visits cluster in office hours; open cases have visits
planned for later this week and today.

Rows go in with PostgreSQL COPY (bulk_create elsewhere), so they have no change
history: they are benchmark data, not a record of anyone's work.
"""

import datetime
import resource
import time

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from accounts import roles
from accounts.models import Agency, Team, User
from cases import rules as case_rules
from cases.models import (
    Address,
    Case,
    CaseReferenceCounter,
    ChildProtectionPlan,
    Escalation,
    Hazard,
    Meeting,
    Membership,
    Person,
)
from chronologies.models import ChronologyEntry
from visits import last_seen
from visits.models import ChildSeen, Visit

BATCH = 2000
TEAM_PREFIX = "scale-"
CASES_PER_TEAM = 330
WORKERS_PER_TEAM = 11
SERVICE_MANAGER = "scale-service"
DRIFTING = 0.08  # share of open cases drifting out of view


def scale_teams():
    return Team.objects.filter(code__startswith=TEAM_PREFIX)


def build_scale(n: int, *, rng, today: datetime.date, password: str, stdout=None) -> dict:
    """Add `n` generated cases on new scale teams (on top of any scale data already
    there: team numbers carry on). Returns counts, seconds and peak memory."""
    started = time.perf_counter()
    now = timezone.now()
    first_team = scale_teams().count() + 1
    staff = _staff(max(1, round(n / CASES_PER_TEAM)), first=first_team, password=password, now=now)
    agencies = list(Agency.objects.filter(active=True)) or [
        Agency.objects.create(name="Generated primary school", kind=Agency.Kind.SCHOOL)
    ]
    creator = staff[0]["manager"]
    counts: dict[str, int] = {}
    done = 0
    while done < n:
        size = min(BATCH, n - done)
        with transaction.atomic():
            made = _Batch(
                size, staff=staff, agencies=agencies, creator=creator, rng=rng, today=today, now=now
            ).build()
        for key, value in made.items():
            counts[key] = counts.get(key, 0) + value
        done += size
        if stdout is not None:
            stdout.write(
                f"  {done}/{n} cases, {counts['visits']} visits, "
                f"{counts['chronology_entries']} chronology entries "
                f"({time.perf_counter() - started:.0f} s)"
            )
    counts.update(_supervision(staff, rng=rng, today=today, now=now))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Statistics for the planner; outside a transaction also the visibility map,
            # which index-only scans need (autovacuum would get there later).
            cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")
    counts["seconds"] = round(time.perf_counter() - started, 1)
    counts["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return counts


# --- staff ---------------------------------------------------------------------------------


def _staff(n_teams: int, *, first: int, password: str, now) -> list[dict]:
    """Teams with a manager and social workers; one service manager over all of them."""
    hashed = make_password(password)  # one hash shared: hashing 700 times takes minutes
    teams = Team.objects.bulk_create(
        [
            Team(code=f"{TEAM_PREFIX}{i:03d}", name=f"Area {i:03d} Family Safeguarding")
            for i in range(first, first + n_teams)
        ]
    )
    users, made = [], []
    for team in teams:
        number = team.code.removeprefix(TEAM_PREFIX)
        manager = User(
            username=f"scale-{number}-tm",
            first_name="Manager",
            last_name=f"Area {number}",
            team=team,
            job_title="Team manager",
            email=f"scale-{number}-tm@northshire.example",
            password=hashed,
            date_joined=now,
        )
        workers = [
            User(
                username=f"scale-{number}-sw{j:02d}",
                first_name=f"Worker {j:02d}",
                last_name=f"Area {number}",
                team=team,
                job_title="Social worker",
                email=f"scale-{number}-sw{j:02d}@northshire.example",
                password=hashed,
                date_joined=now,
            )
            for j in range(1, WORKERS_PER_TEAM + 1)
        ]
        users += [manager, *workers]
        made.append({"team": team, "manager": manager, "workers": workers})
    service = None
    if not User.objects.filter(username=SERVICE_MANAGER).exists():
        service = User(
            username=SERVICE_MANAGER,
            first_name="Service",
            last_name="Manager",
            team=teams[0],
            job_title="Head of service",
            password=hashed,
            email=f"{SERVICE_MANAGER}@northshire.example",
            date_joined=now,
        )
        users.append(service)
    User.objects.bulk_create(users)
    groups = {g.name: g for g in Group.objects.all()}
    Through = User.groups.through
    rows = []
    for item in made:
        rows.append(Through(user_id=item["manager"].pk, group_id=groups[roles.TEAM_MANAGER].pk))
        rows += [
            Through(user_id=w.pk, group_id=groups[roles.SOCIAL_WORKER].pk) for w in item["workers"]
        ]
    if service is not None:
        rows.append(Through(user_id=service.pk, group_id=groups[roles.SERVICE_MANAGER].pk))
    Through.objects.bulk_create(rows)
    from safeguarding.demo_second_factor import give_demo_authenticator

    give_demo_authenticator(users)
    return made


# --- fast inserts ----------------------------------------------------------------------------


def _reserve_ids(model, count: int) -> list[int]:
    """Primary keys for rows about to be copied in, taken from the table's sequence."""
    if not count:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                "FROM generate_series(1, %s)",
                [count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        (top,) = cursor.fetchone()
    return list(range(top + 1, top + 1 + count))


_COLUMNS: dict = {}


def _columns(model):
    if model not in _COLUMNS:
        fields = model._meta.concrete_fields
        _COLUMNS[model] = [(f.attname, f.column, f.get_default()) for f in fields]
    return _COLUMNS[model]


def _insert(model, rows: list[dict]) -> int:
    """Insert rows given as {attname: value} (with their ids), by COPY on PostgreSQL.
    Fields left out take their model default."""
    if not rows:
        return 0
    columns = _columns(model)
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows], batch_size=500)
        return len(rows)
    names = ", ".join(f'"{column}"' for _, column, _ in columns)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f'COPY "{model._meta.db_table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row.get(attname, default) for attname, _, default in columns])
    return len(rows)


def _insert_pairs(through, left: str, right: str, pairs) -> int:
    """Many-to-many rows (left_id, right_id)."""
    pairs = list(pairs)
    if not pairs:
        return 0
    if connection.vendor != "postgresql":
        through.objects.bulk_create(
            [through(**{f"{left}_id": a, f"{right}_id": b}) for a, b in pairs], batch_size=500
        )
        return len(pairs)
    left_col = through._meta.get_field(left).column
    right_col = through._meta.get_field(right).column
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            f'COPY "{through._meta.db_table}" ("{left_col}", "{right_col}") FROM STDIN'
        ) as copy:
            for pair in pairs:
                copy.write_row(pair)
    return len(pairs)


def _reserve_references(year: int, count: int) -> int:
    """Take `count` case numbers for a year in one statement; returns the first."""
    table = CaseReferenceCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (year, last_number) VALUES (%s, %s) "
            f"ON CONFLICT (year) DO UPDATE SET last_number = {table}.last_number + %s "
            "RETURNING last_number",
            [year, count, count],
        )
        (last,) = cursor.fetchone()
    return last - count + 1


# --- one batch of cases ------------------------------------------------------------------------

_DAY = datetime.timedelta(days=1)
# Visits cluster in office hours; unannounced ones reach the early morning and evening.
_HOURS = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]
_HOUR_WEIGHTS = [2, 10, 18, 15, 5, 8, 16, 14, 8, 3, 2, 1]
_UNANNOUNCED_HOURS = [7, 8, 9, 16, 17, 18, 19, 20]


class _Batch:
    def __init__(self, size, *, staff, agencies, creator, rng, today, now):
        self.size, self.staff, self.agencies = size, staff, agencies
        self.creator, self.rng, self.today, self.now = creator, rng, today, now
        self.tz = timezone.get_current_timezone()
        self.entries: list[dict] = []
        self.entry_children: list[tuple[int, int]] = []

    def at(self, day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=self.tz)

    def build(self) -> dict:
        cases = self.cases()
        self.households(cases)
        hazards = self.hazards(cases)
        visits, seen = self.visits(cases)
        escalations = self.escalations(cases)
        self.manual_entries(cases)
        ids = _reserve_ids(ChronologyEntry, len(self.entries))
        pairs = []
        for pk, entry in zip(ids, self.entries, strict=True):
            entry["id"] = pk
            pairs += [(pk, child) for child in entry.pop("_children", ())]
        _insert(ChronologyEntry, self.entries)
        _insert_pairs(ChronologyEntry.children.through, "chronologyentry", "person", pairs)
        return {
            "cases": len(cases),
            "people": self.people,
            "visits": visits,
            "children_seen": seen,
            "hazards": hazards,
            "escalations": escalations,
            "chronology_entries": len(self.entries),
        }

    def entry(
        self,
        case,
        source_type,
        source_id,
        category,
        occurred_on,
        title,
        *,
        occurred_at=None,
        details="",
        analysis="",
        significance="routine",
        children=(),
        by=None,
        **extra,
    ):
        self.entries.append(
            {
                "case_id": case.pk,
                "source_type": source_type,
                "source_id": str(source_id),
                "category": category,
                "occurred_on": occurred_on,
                "occurred_at": occurred_at,
                "title": title[:300],
                "details": details,
                "analysis": analysis,
                "significance": significance,
                "created_at": self.now,
                "updated_at": self.now,
                "created_by_id": by,
                "_children": list(children),
                **extra,
            }
        )

    # cases and households (bulk_create: a few thousand rows a batch)

    def cases(self):
        rng, today, now = self.rng, self.today, self.now
        by_year: dict[int, list] = {}
        cases = []
        for _ in range(self.size):
            opened = today - datetime.timedelta(days=rng.randint(5, 1400))
            squad = rng.choice(self.staff)
            closed = rng.random() < 0.35
            case = Case(
                family_name=rng.choice(_SURNAMES),
                team=squad["team"],
                opened_on=opened,
                summary="Generated case for benchmarks.",
                created_at=now,
                created_by=self.creator,
                status=Case.Status.CLOSED if closed else Case.Status.OPEN,
                closed_on=min(today, opened + datetime.timedelta(days=rng.randint(30, 500)))
                if closed
                else None,
                closure_reason="nfa" if closed else "",
            )
            case._worker = rng.choice(squad["workers"])
            case._manager = squad["manager"]
            by_year.setdefault(opened.year, []).append(case)
            cases.append(case)
        for year, items in by_year.items():
            first = _reserve_references(year, len(items))
            for i, case in enumerate(items):
                case.reference = f"SG-{year}-{first + i:05d}"
        Case.objects.bulk_create(cases)
        Through = Case.allocated_workers.through
        Through.objects.bulk_create([Through(case_id=c.pk, user_id=c._worker.pk) for c in cases])
        for case in cases:
            self.entry(
                case,
                "case_opened",
                case.pk,
                "case",
                case.opened_on,
                "Case opened",
                details=case.summary,
                significance="significant",
                by=case._worker.pk,
            )
        return cases

    def households(self, cases):
        rng, today, now = self.rng, self.today, self.now
        people, memberships, plans, addresses = [], [], [], []
        for case in cases:
            household = [("mother", _adult(rng, case, now, self.creator, "female"))]
            if rng.random() < 0.4:
                household.append(
                    (
                        rng.choice(["father", "partner", "step_parent"]),
                        _adult(rng, case, now, self.creator, "male"),
                    )
                )
            for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
                household.append(("child", _child(rng, case, now, self.creator)))
            people += [person for _, person in household]
            case._household = household
        Person.objects.bulk_create(people)
        self.people = len(people)
        for case in cases:
            end_limit = case.closed_on or today
            case._children = [p for rel, p in case._household if rel == "child"]
            case._plans = []
            for relationship, person in case._household:
                start = case.opened_on
                end = None
                if relationship in ("partner", "father") and rng.random() < 0.4:
                    end = start + datetime.timedelta(days=rng.randint(0, (end_limit - start).days))
                memberships.append(
                    Membership(
                        case=case,
                        person=person,
                        relationship=relationship,
                        start_date=start,
                        end_date=end,
                        lives_in_household=relationship != "father" or rng.random() < 0.5,
                    )
                )
                if relationship == "child" and rng.random() < 0.25:
                    p_start = start + datetime.timedelta(days=rng.randint(0, 60))
                    if p_start <= end_limit:
                        ended = case.closed_on or (
                            p_start + datetime.timedelta(days=rng.randint(90, 600))
                            if rng.random() < 0.5
                            else None
                        )
                        if ended is not None and ended > today:
                            ended = None
                        if ended is not None and ended < p_start:
                            ended = p_start
                        plan = ChildProtectionPlan(
                            child=person,
                            case=case,
                            start_date=p_start,
                            end_date=ended,
                            category=rng.choice(["neglect", "emotional", "physical", "multiple"]),
                        )
                        plans.append(plan)
                        case._plans.append(plan)
            moves = rng.choice([1, 1, 1, 2, 3, 4])
            start = case.opened_on - datetime.timedelta(days=rng.randint(30, 1500))
            for i in range(moves):
                last = i == moves - 1
                end = None if last else start + datetime.timedelta(days=rng.randint(30, 200))
                if end is not None and end >= today:
                    end = None
                    last = True
                addresses.append(
                    Address(
                        case=case,
                        line_1=f"{rng.randint(1, 200)} {rng.choice(_STREETS)}",
                        town="Leeds",
                        postcode=rng.choice(_POSTCODES),
                        start_date=start,
                        end_date=end,
                    )
                )
                if last:
                    break
                start = end + _DAY
        Membership.objects.bulk_create(memberships)
        ChildProtectionPlan.objects.bulk_create(plans)
        Address.objects.bulk_create(addresses)
        for plan in plans:
            self.entry(
                plan.case,
                "plan_started",
                plan.pk,
                "plan",
                plan.start_date,
                f"{plan.child.first_name} {plan.child.last_name} made subject to a "
                f"child protection plan ({plan.category})",
                significance="critical",
                children=[plan.child_id],
                by=plan.case._worker.pk,
            )

    def hazards(self, cases):
        rng = self.rng
        hazards = []
        for case in cases:
            if rng.random() < 0.12:
                kind, details = rng.choice(_HAZARDS)
                start = case.opened_on + datetime.timedelta(days=rng.randint(0, 60))
                if start > self.today:
                    start = self.today
                end = (
                    None
                    if rng.random() < 0.8
                    else min(self.today, start + datetime.timedelta(days=rng.randint(30, 300)))
                )
                target = {"case": case} if rng.random() < 0.7 else {"person": case._household[0][1]}
                hazards.append(
                    Hazard(
                        kind=kind,
                        details=details,
                        start_date=start,
                        end_date=end,
                        created_at=self.now,
                        created_by=case._worker,
                        **target,
                    )
                )
                hazards[-1]._case = case
        Hazard.objects.bulk_create(hazards)
        for hazard in hazards:
            self.entry(
                hazard._case,
                "hazard",
                hazard.pk,
                "hazard",
                hazard.start_date,
                f"Hazard to staff: {hazard.get_kind_display().lower()}",
                details=hazard.details,
                significance="significant",
                by=hazard._case._worker.pk,
            )
        return len(hazards)

    # visits (COPY: about 27 a case)

    def visits(self, cases):
        visit_rows, seen_rows = [], []
        for case in cases:
            case._visits = self.visit_plan(case)
        ids = _reserve_ids(Visit, sum(len(c._visits) for c in cases))
        pk_iter = iter(ids)
        for case in cases:
            worker = case._worker.pk
            for v in case._visits:
                v["id"] = next(pk_iter)
                drifting = v.pop("_drifting", False)
                v["case_id"] = case.pk
                v["lead_worker_id"] = worker
                v["created_by_id"] = worker
                if v["outcome"] != "planned":
                    v["outcome_recorded_by_id"] = worker
                visit_rows.append(v)
                seen_rows += self.children_seen(case, v, drifting=drifting)
        seen_ids = _reserve_ids(ChildSeen, len(seen_rows))
        for pk, row in zip(seen_ids, seen_rows, strict=True):
            row["id"] = pk
        by_visit: dict[int, list] = {}
        for row in seen_rows:
            by_visit.setdefault(row["visit_id"], []).append(row)
        for case in cases:
            for v in case._visits:
                if v["outcome"] != "planned":
                    self.visit_entry(case, v, by_visit.get(v["id"], []))
        _insert(Visit, visit_rows)
        _insert(ChildSeen, seen_rows)
        # COPY saves no models, so the children's last-seen rows are worked out here.
        case_of = {v["id"]: v["case_id"] for v in visit_rows}
        last_seen.refresh({(case_of[r["visit_id"]], r["child_id"]) for r in seen_rows})
        return len(visit_rows), len(seen_rows)

    def visit_plan(self, case) -> list[dict]:
        """The visits of one case from its opening to its closing (or to today and a few
        days ahead): every 10 working days on a plan, every 20 otherwise, with slippage."""
        rng, today = self.rng, self.today
        on_plan = bool(case._plans)
        cadence = 14 if on_plan else 27
        end = case.closed_on or today
        drifting = case.closed_on is None and rng.random() < DRIFTING
        drift_from = today - datetime.timedelta(days=rng.randint(40, 150)) if drifting else None
        case._drifting = drifting
        visits = []
        day = case.opened_on + datetime.timedelta(days=rng.randint(1, 10))
        while day < end:
            visits.append(
                self.visit(case, day, drifting=drift_from is not None and day >= drift_from)
            )
            day += datetime.timedelta(days=max(3, round(cadence * rng.uniform(0.55, 1.45))))
        if case.closed_on is None:
            # The next visit is planned: today for some, later this week or next for most.
            ahead = 0 if rng.random() < 0.12 else rng.randint(1, 9)
            visits.append(self.visit(case, today + datetime.timedelta(days=ahead), planned=True))
            if rng.random() < 0.02:  # planned last week, outcome never recorded
                visits.append(
                    self.visit(
                        case, today - datetime.timedelta(days=rng.randint(2, 7)), planned=True
                    )
                )
        return visits

    def visit(self, case, day, *, drifting=False, planned=False) -> dict:
        rng = self.rng
        announced = rng.random() < 0.75
        hour = (
            rng.choices(_HOURS, _HOUR_WEIGHTS)[0] if announced else rng.choice(_UNANNOUNCED_HOURS)
        )
        when = self.at(day, hour, rng.choice((0, 15, 30, 45)))
        kind = rng.choices(("home", "office", "school", "other"), (80, 8, 10, 2))[0]
        row = {
            "planned_for": when,
            "kind": kind,
            "announced": announced or kind != "home",
            "purpose": rng.choice(_PURPOSES),
            "outcome": "planned",
            "created_at": when - datetime.timedelta(days=rng.randint(1, 14)),
        }
        if planned:
            return row
        roll = rng.random()
        if drifting:
            outcome = "defaulted" if roll < 0.6 else "completed" if roll < 0.9 else "cancelled"
        else:
            outcome = "defaulted" if roll < 0.1 else "completed" if roll < 0.95 else "cancelled"
        occurred = when + datetime.timedelta(minutes=rng.randint(-10, 40))
        row.update(
            outcome=outcome,
            occurred_at=occurred,
            outcome_recorded_at=occurred + datetime.timedelta(hours=rng.randint(1, 72)),
        )
        if outcome == "defaulted":
            if kind == "office":
                reason = "did_not_attend"
            else:
                reason = rng.choices(
                    ("no_answer", "refused_entry", "not_at_home", "cancelled_by_family"),
                    (45, 20, 15 if row["announced"] else 0, 20),
                )[0]
            row["default_reason"] = reason
            if reason == "refused_entry" and rng.random() < 0.4:
                row["others_present"] = "A man's voice behind the door"
        elif outcome == "completed":
            row["parent_report"] = rng.choice(_PARENT_REPORTS)
            row["notes"] = rng.choice(_NOTES)
        if rng.random() < 0.004:
            row.update(
                in_error=True,
                in_error_reason="Recorded on the wrong case",
                in_error_at=occurred + datetime.timedelta(days=1),
            )
        row["_drifting"] = drifting
        return row

    def children_seen(self, case, visit, *, drifting) -> list[dict]:
        if visit["outcome"] != "completed":
            return []
        rng = self.rng
        day = visit["planned_for"].date()
        rows = []
        for child in case._children:
            age_days = (day - child.date_of_birth).days if child.date_of_birth else 0
            seen = rng.random() < (0.6 if drifting else 0.93)
            alone = seen and age_days >= 3 * 365 and rng.random() < (0.25 if drifting else 0.6)
            row = {
                "visit_id": visit["id"],
                "child_id": child.pk,
                "seen": seen,
                "seen_alone": alone,
                "bedroom_seen": True if alone and rng.random() < 0.7 else None,
                "presentation": rng.choice(_PRESENTATION) if seen else "",
            }
            if not seen:
                row["reason_not_seen"] = rng.choice(_NOT_SEEN)
            elif not alone:
                row["reason_not_seen"] = (
                    "Too young to be seen alone" if age_days < 3 * 365 else rng.choice(_NOT_ALONE)
                )
            if alone and age_days >= 4 * 365 and rng.random() < 0.5:
                row["child_views"] = rng.choice(_VOICES)
            row["_child"] = child
            rows.append(row)
        return rows

    def visit_entry(self, case, v, rows):
        """The entry the chronology's visit receiver writes, in the same shape."""
        kind = _KIND_LABELS[v["kind"]]
        announced = "announced" if v["announced"] else "unannounced"
        significance = "routine"
        if v["outcome"] == "defaulted":
            title = (
                f"{kind} ({announced}) defaulted: {_DEFAULT_LABELS[v['default_reason']].lower()}"
            )
            significance = "significant"
        elif v["outcome"] == "cancelled":
            title = f"{kind} ({announced}) cancelled by the worker"
        else:
            seen = sum(1 for r in rows if r["seen"])
            alone = sum(1 for r in rows if r["seen_alone"])
            title = (
                f"{kind} ({announced}) completed: {seen} of {len(rows)} children seen, "
                f"{alone} seen alone"
            )
            if seen < len(rows):
                significance = "significant"
        lines = []
        for r in rows:
            child = r.pop("_child")
            state = (
                ("seen alone" if r["seen_alone"] else "seen, not alone")
                if r["seen"]
                else "not seen"
            )
            line = f"{child.first_name} {child.last_name}: {state}"
            if r.get("reason_not_seen"):
                line += f" ({r['reason_not_seen']})"
            if r.get("child_views"):
                line += f". In their words: {r['child_views']}"
            lines.append(line)
        if v.get("parent_report"):
            lines.append(f"Parent's account (reported, not observed): {v['parent_report']}")
        when = v["occurred_at"]
        self.entry(
            case,
            "visit",
            v["id"],
            "visit",
            timezone.localdate(when),
            title,
            occurred_at=when,
            details="\n".join(lines),
            analysis=v.get("notes", ""),
            significance=significance,
            children=[r["child_id"] for r in rows],
            by=case._worker.pk,
            source_in_error=v.get("in_error", False),
        )

    # escalations (R1: the 4th default since the last meeting that met one)

    def escalations(self, cases):
        rng, today = self.rng, self.today
        meetings, escalations = [], []
        for case in cases:
            count = 0
            for v in case._visits:
                if v["outcome"] != "defaulted" or v.get("in_error"):
                    continue
                count += 1
                if count <= settings.DEFAULTED_VISITS_THRESHOLD:
                    continue
                trigger = timezone.localdate(v["occurred_at"])
                on_plan = any(
                    p.start_date <= trigger and (p.end_date is None or p.end_date >= trigger)
                    for p in case._plans
                )
                days = case_rules.deadline_working_days(on_plan)
                due = _weekdays_after(trigger, days)
                if due >= today:
                    break  # the active ones are added for the sweep benchmark
                kind = case_rules.required_meeting(on_plan)
                esc = Escalation(
                    case=case,
                    kind="defaulted_visits",
                    trigger_date=trigger,
                    child_on_plan=on_plan,
                    required_meeting=kind,
                    working_days=days,
                    due_date=due,
                    reason=f"{count} visits defaulted by the family",
                    trigger_count=count,
                    created_at=v["occurred_at"],
                )
                roll = rng.random()
                if roll < 0.1:
                    esc.state = "cancelled"
                    esc.cancelled_reason = "Raised in error: two visits were the worker's"
                    esc.cancelled_by = case._manager
                    esc.closed_at = esc.created_at + datetime.timedelta(days=1)
                else:
                    late = roll > 0.75
                    held = (
                        due + datetime.timedelta(days=rng.randint(1, 12))
                        if late
                        else trigger + datetime.timedelta(days=rng.randint(1, (due - trigger).days))
                    )
                    held = min(held, today)
                    meeting = Meeting(
                        case=case,
                        kind=kind,
                        held_on=held,
                        chair=case._manager.last_name,
                        decisions="Unannounced visits twice a week; school to report "
                        "attendance daily.",
                        created_at=self.at(held, 16),
                        created_by=case._manager,
                    )
                    meetings.append(meeting)
                    esc._meeting = meeting
                    esc.state = "met_late" if held > due else "met"
                    esc.met_on = held
                    esc.closed_at = meeting.created_at
                escalations.append(esc)
                count = 0
        Meeting.objects.bulk_create(meetings)
        for esc in escalations:
            if getattr(esc, "_meeting", None) is not None:
                esc.met_by = esc._meeting
        Escalation.objects.bulk_create(escalations)
        for meeting in meetings:
            self.entry(
                meeting.case,
                "meeting",
                meeting.pk,
                "meeting",
                meeting.held_on,
                f"{meeting.get_kind_display()} held",
                details=meeting.decisions,
                significance="significant",
                by=meeting.created_by_id,
            )
        for esc in escalations:
            self.entry(
                esc.case,
                "escalation",
                esc.pk,
                "escalation",
                esc.trigger_date,
                f"Escalation: {esc.get_required_meeting_display().lower()} due by "
                f"{esc.due_date:%d %B %Y}",
                details=esc.reason,
                significance="critical",
                occurred_at=esc.created_at,
            )
        return len(escalations)

    # multi-agency information (manual entries keyed by a random source id)

    def manual_entries(self, cases):
        rng, today = self.rng, self.today
        for case in cases:
            end = case.closed_on or today
            span = (end - case.opened_on).days
            for _ in range(rng.choice([0, 1, 2, 3, 3, 4, 5, 6])):
                kind, title, details, significance = rng.choice(_MULTI_AGENCY)
                agency = next((a for a in self.agencies if a.kind == kind), None)
                source = (
                    {"agency_id": agency.pk}
                    if agency
                    else {"informant_type": kind if kind in _INFORMANTS else "neighbour"}
                )
                self.entry(
                    case,
                    "manual",
                    f"{rng.getrandbits(128):032x}",
                    "multi_agency",
                    case.opened_on + datetime.timedelta(days=rng.randint(0, span)),
                    title,
                    details=details,
                    significance=significance,
                    children=[c.pk for c in case._children],
                    by=case._worker.pk,
                    date_is_approximate=rng.random() < 0.05,
                    **source,
                )


def _supervision(staff, *, rng, today, now) -> dict:
    """Monthly formal supervision for every worker over the last year, one case discussed
    at each with an action; some workers' supervision has lapsed."""
    from supervision.models import Action, CaseDiscussion, SupervisionSession

    sessions, plans = [], []
    for squad in staff:
        manager = squad["manager"]
        for worker in squad["workers"]:
            lapsed = rng.random() < 0.15
            cases = list(
                Case.objects.filter(allocated_workers=worker, status="open").values_list(
                    "pk", flat=True
                )[:12]
            )
            for month in range(12, 0 if not lapsed else 2, -1):
                day = today - datetime.timedelta(days=month * 28 + rng.randint(-3, 3))
                cancelled = rng.random() < 0.08
                session = SupervisionSession(
                    supervisee=worker,
                    supervisor=manager,
                    date=day,
                    status="cancelled" if cancelled else "held",
                    cancelled_reason="Manager called to a strategy meeting" if cancelled else "",
                    created_at=now,
                    created_by=manager,
                    held_at=None
                    if cancelled
                    else datetime.datetime.combine(
                        day, datetime.time(10), tzinfo=timezone.get_current_timezone()
                    ),
                )
                sessions.append(session)
                if not cancelled and cases:
                    plans.append((session, rng.choice(cases), worker, manager, day))
            if not lapsed:
                sessions.append(
                    SupervisionSession(
                        supervisee=worker,
                        supervisor=manager,
                        created_at=now,
                        created_by=manager,
                        date=today + datetime.timedelta(days=rng.randint(0, 20)),
                    )
                )
    SupervisionSession.objects.bulk_create(sessions)
    discussions = CaseDiscussion.objects.bulk_create(
        [
            CaseDiscussion(
                session=s,
                case_id=case_id,
                created_at=now,
                created_by=manager,
                lived_experience="Often hungry at school; frightened of the shouting.",
                hypothesis="Mother's drinking has returned.",
            )
            for s, case_id, _, manager, _ in plans
        ]
    )
    actions = []
    for discussion, (_, case_id, worker, manager, day) in zip(discussions, plans, strict=True):
        due = day + datetime.timedelta(days=rng.randint(7, 28))
        done = due < today and rng.random() < 0.8
        actions.append(
            Action(
                discussion=discussion,
                case_id=case_id,
                owner=worker,
                due_date=due,
                description="Visit unannounced and see the children alone",
                status="completed" if done else "open",
                completed_at=now if done else None,
                completed_by=worker if done else None,
                created_at=now,
                created_by=manager,
            )
        )
    Action.objects.bulk_create(actions)
    return {"supervision_sessions": len(sessions), "supervision_actions": len(actions)}


def _weekdays_after(start: datetime.date, n: int) -> datetime.date:
    """Monday to Friday only: close enough for generated history (the sweep recomputes
    the deadline of anything still active)."""
    day, count = start, 0
    while count < n:
        day += _DAY
        if day.weekday() < 5:
            count += 1
    return day


def _adult(rng, case, now, creator, sex):
    first = rng.choice(_FIRST_F if sex == "female" else _FIRST_M)
    return Person(
        first_name=first,
        last_name=case.family_name,
        sex=sex,
        created_at=now,
        created_by=creator,
        date_of_birth=case.opened_on - datetime.timedelta(days=rng.randint(18 * 365, 50 * 365)),
    )


def _child(rng, case, now, creator):
    born = case.opened_on - datetime.timedelta(days=rng.randint(0, 16 * 365))
    return Person(
        first_name=rng.choice(_CHILDREN),
        last_name=case.family_name,
        sex=rng.choice(["female", "male"]),
        created_at=now,
        created_by=creator,
        date_of_birth=born,
    )


def add_due_escalations(
    *, fraction: float = 0.0, count: int | None = None, rng, today: datetime.date
) -> int:
    """Active defaulted-visits escalations on a fraction (or a number) of open cases, due
    between three days ago and tomorrow: what the sweep must find, for benchmarks."""
    open_ids = list(
        Case.objects.filter(status=Case.Status.OPEN)
        .exclude(escalations__state__in=Escalation.ACTIVE_STATES)
        .values_list("pk", flat=True)
    )
    if count is None:
        count = max(1, int(len(open_ids) * fraction))
    chosen = rng.sample(open_ids, min(count, len(open_ids)))
    now = timezone.now()
    rows = []
    for case_id in chosen:
        due = today + datetime.timedelta(days=rng.randint(-3, 1))
        rows.append(
            Escalation(
                case_id=case_id,
                kind=Escalation.Kind.DEFAULTED_VISITS,
                state="open",
                trigger_date=due - datetime.timedelta(days=9),
                child_on_plan=False,
                required_meeting="multi_agency",
                working_days=7,
                due_date=due,
                reason="Generated for benchmarks.",
                trigger_count=4,
                created_at=now,
            )
        )
    Escalation.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


_KIND_LABELS = dict(Visit.Kind.choices)
_DEFAULT_LABELS = dict(Visit.DefaultReason.choices)
_INFORMANTS = {
    "neighbour",
    "grandparent",
    "extended_family",
    "ex_partner",
    "older_child",
    "anonymous",
}
_SURNAMES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Patel",
    "Khan",
    "Begum",
    "Nowak",
    "Murphy",
]
_FIRST_F = ["Sarah", "Emma", "Laura", "Kelly", "Donna", "Lisa", "Hayley", "Kirsty", "Fatima"]
_FIRST_M = ["Paul", "Mark", "Carl", "Jason", "Gary", "Shane", "Adam", "Bilal", "Piotr"]
_CHILDREN = [
    "Oliver",
    "Amelia",
    "Jack",
    "Isla",
    "Harry",
    "Olivia",
    "Charlie",
    "Emily",
    "Leo",
    "Grace",
    "Freddie",
    "Lily",
    "Archie",
    "Sophie",
    "Oscar",
    "Ella",
]
_STREETS = [
    "High Street",
    "Queen Street",
    "King's Road",
    "Mill Lane",
    "Green Lane",
    "Manor Road",
    "School Lane",
    "Park Road",
]
_POSTCODES = [
    "LS11 5QP",
    "LS12 3DT",
    "LS9 8AB",
    "LS14 6PX",
    "LS10 2JR",
    "BD3 9LT",
    "WF1 2NB",
    "HD1 2SP",
    "HX1 5AB",
    "YO1 7HH",
]
_PURPOSES = [
    "Statutory visit",
    "Review progress on the plan",
    "See the children alone",
    "Check home conditions",
    "",
]
_PARENT_REPORTS = [
    "Says things are better and the partner has gone.",
    "Says the children are sleeping well and going to school.",
    "Says she cannot cope with the youngest's behaviour.",
    "",
]
_NOTES = [
    "Home conditions as before.",
    "Kitchen had food; bedrooms cluttered.",
    "Smell of cannabis in the hallway.",
    "New furniture; mother calmer.",
    "",
]
_PRESENTATION = [
    "Clean and appropriately dressed; chatty.",
    "Quiet, watched the adults.",
    "Tired and hungry; same clothes as last visit.",
    "Played happily.",
]
_NOT_SEEN = [
    "At grandmother's, mother said",
    "Asleep upstairs; mother refused to wake them",
    "At school",
    "Not in when we called",
]
_NOT_ALONE = ["Parent would not leave the room", "Child would not leave mother", "No private space"]
_VOICES = [
    "I like it when Mum walks me to school.",
    "He shouts at night and I hide.",
    "I'm hungry at bedtime.",
    "Nan makes my tea.",
    "Don't tell Mum I said.",
    "I want my own bed.",
]
_HAZARDS = [
    ("animal", "Two large dogs, not always shut away."),
    ("aggressive_adult", "Father has threatened staff; visit in pairs."),
    ("threats", "Threats made to a previous worker by phone."),
    ("weapon", "Police report a knife kept by the door."),
    ("infection", "Scabies in the household."),
]
_MULTI_AGENCY = [
    (
        "school",
        "School reports attendance below 80%",
        "Late most Mondays; arrives hungry.",
        "significant",
    ),
    (
        "health_visiting",
        "Health visitor: baby's weight dropped",
        "Missed two clinics.",
        "significant",
    ),
    ("police", "Police called to a domestic incident", "Children were in the home.", "critical"),
    ("gp", "GP letter: mother missed her review", "Third missed appointment this year.", "routine"),
    (
        "neighbour",
        "Neighbour reports shouting late at night",
        "A child crying around 11pm.",
        "significant",
    ),
    (
        "grandparent",
        "Grandmother worried about mother's drinking",
        "Drinking in the day.",
        "significant",
    ),
    ("housing", "Housing: rent arrears and a notice", "Eviction notice served.", "routine"),
]

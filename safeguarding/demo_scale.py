"""Volume for benchmarks: N generated cases with plausible histories, bulk inserted.

Written with bulk_create for speed, so these rows have no change history; they are
benchmark data, not a record of anyone's work.
"""

import datetime

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from cases.models import (
    Address,
    Case,
    CaseReferenceCounter,
    ChildProtectionPlan,
    Membership,
    Person,
)

BATCH = 2000


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


def build_scale(n: int, *, teams, rng, today: datetime.date, stdout=None) -> None:
    now = timezone.now()
    staff = {t.pk: list(User.objects.filter(team=t, is_active=True)) for t in teams}
    creator = next(u for users in staff.values() for u in users)
    done = 0
    while done < n:
        size = min(BATCH, n - done)
        with transaction.atomic():
            _batch(size, teams=teams, staff=staff, creator=creator, rng=rng, today=today,
                   now=now)
        done += size
        if stdout is not None:
            stdout.write(f"  {done}/{n} cases")


def _batch(size, *, teams, staff, creator, rng, today, now):
    by_year: dict[int, list] = {}
    cases = []
    for _ in range(size):
        opened = today - datetime.timedelta(days=rng.randint(5, 1400))
        team = rng.choice(teams)
        closed = rng.random() < 0.35
        case = Case(
            family_name=rng.choice(_SURNAMES), team=team, opened_on=opened,
            summary="Generated case for benchmarks.", created_at=now, created_by=creator,
            status=Case.Status.CLOSED if closed else Case.Status.OPEN,
            closed_on=min(today, opened + datetime.timedelta(days=rng.randint(30, 500)))
            if closed else None,
            closure_reason="nfa" if closed else "",
        )
        by_year.setdefault(opened.year, []).append(case)
        cases.append(case)
    for year, items in by_year.items():
        first = _reserve_references(year, len(items))
        for i, case in enumerate(items):
            case.reference = f"SG-{year}-{first + i:05d}"
    Case.objects.bulk_create(cases)
    allocations = []
    Through = Case.allocated_workers.through
    for case in cases:
        workers = staff.get(case.team_id) or []
        if workers:
            allocations.append(Through(case_id=case.pk, user_id=rng.choice(workers).pk))
    Through.objects.bulk_create(allocations)

    people, memberships, plans, addresses = [], [], [], []
    for case in cases:
        household = [("mother", _adult(rng, case, now, creator, "female"))]
        if rng.random() < 0.6:
            household.append((rng.choice(["father", "partner", "step_parent"]),
                              _adult(rng, case, now, creator, "male")))
        for _ in range(rng.choice([1, 1, 2, 2, 2, 3, 4])):
            household.append(("child", _child(rng, case, now, creator, today)))
        for _, person in household:
            people.append(person)
        case._household = household
    Person.objects.bulk_create(people)
    for case in cases:
        end_limit = case.closed_on or today
        for relationship, person in case._household:
            start = case.opened_on
            end = None
            if relationship in ("partner", "father") and rng.random() < 0.4:
                end = start + datetime.timedelta(days=rng.randint(0, (end_limit - start).days))
            memberships.append(Membership(
                case=case, person=person, relationship=relationship, start_date=start,
                end_date=end, lives_in_household=relationship != "father" or rng.random() < .5,
            ))
            if relationship == "child" and rng.random() < 0.25:
                p_start = start + datetime.timedelta(days=rng.randint(0, 60))
                if p_start <= end_limit:
                    ended = case.closed_on or (
                        p_start + datetime.timedelta(days=rng.randint(90, 600))
                        if rng.random() < 0.5 else None)
                    if ended is not None and ended > today:
                        ended = None
                    if ended is not None and ended < p_start:
                        ended = p_start
                    plans.append(ChildProtectionPlan(
                        child=person, case=case, start_date=p_start, end_date=ended,
                        category=rng.choice(["neglect", "emotional", "physical", "multiple"]),
                    ))
        moves = rng.choice([1, 1, 1, 2, 3, 4])
        start = case.opened_on - datetime.timedelta(days=rng.randint(30, 1500))
        for i in range(moves):
            last = i == moves - 1
            end = None if last else start + datetime.timedelta(days=rng.randint(30, 200))
            if end is not None and end >= today:
                end = None
                last = True
            addresses.append(Address(
                case=case, line_1=f"{rng.randint(1, 200)} {rng.choice(_STREETS)}",
                town="Leeds", postcode=rng.choice(_POSTCODES), start_date=start, end_date=end,
            ))
            if last:
                break
            start = end + datetime.timedelta(days=1)
    Membership.objects.bulk_create(memberships)
    ChildProtectionPlan.objects.bulk_create(plans)
    Address.objects.bulk_create(addresses)


def _adult(rng, case, now, creator, sex):
    first = rng.choice(_FIRST_F if sex == "female" else _FIRST_M)
    return Person(
        first_name=first, last_name=case.family_name, sex=sex, created_at=now,
        created_by=creator,
        date_of_birth=case.opened_on - datetime.timedelta(days=rng.randint(18 * 365, 50 * 365)),
    )


def _child(rng, case, now, creator, today):
    born = case.opened_on - datetime.timedelta(days=rng.randint(0, 16 * 365))
    return Person(
        first_name=rng.choice(_CHILDREN), last_name=case.family_name,
        sex=rng.choice(["female", "male"]), created_at=now, created_by=creator,
        date_of_birth=born,
    )


_SURNAMES = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
             "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green",
             "Hall", "Wood", "Jackson", "Clarke", "Patel", "Khan", "Begum", "Nowak", "Murphy"]
_FIRST_F = ["Sarah", "Emma", "Laura", "Kelly", "Donna", "Lisa", "Hayley", "Kirsty", "Fatima"]
_FIRST_M = ["Paul", "Mark", "Carl", "Jason", "Gary", "Shane", "Adam", "Bilal", "Piotr"]
_CHILDREN = ["Oliver", "Amelia", "Jack", "Isla", "Harry", "Olivia", "Charlie", "Emily",
             "Leo", "Grace", "Freddie", "Lily", "Archie", "Sophie", "Oscar", "Ella"]
_STREETS = ["High Street", "Queen Street", "King's Road", "Mill Lane", "Green Lane",
            "Manor Road", "School Lane", "Park Road"]
_POSTCODES = ["LS11 5QP", "LS12 3DT", "LS9 8AB", "LS14 6PX", "LS10 2JR", "BD3 9LT",
              "WF1 2NB", "HD1 2SP", "HX1 5AB", "YO1 7HH"]


def add_due_escalations(*, fraction: float, rng, today: datetime.date) -> int:
    """Active defaulted-visits escalations on a fraction of open cases, due between three
    days ago and tomorrow: what the sweep must find, for benchmarks."""
    from cases.models import Escalation

    open_ids = list(
        Case.objects.filter(status=Case.Status.OPEN)
        .exclude(escalations__state__in=Escalation.ACTIVE_STATES)
        .values_list("pk", flat=True)
    )
    chosen = rng.sample(open_ids, max(1, int(len(open_ids) * fraction)))
    now = timezone.now()
    rows = []
    for case_id in chosen:
        due = today + datetime.timedelta(days=rng.randint(-3, 1))
        rows.append(Escalation(
            case_id=case_id, kind=Escalation.Kind.DEFAULTED_VISITS, state="open",
            trigger_date=due - datetime.timedelta(days=9), child_on_plan=False,
            required_meeting="multi_agency", working_days=7, due_date=due,
            reason="Generated for benchmarks.", trigger_count=4, created_at=now,
        ))
    Escalation.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)

"""The team manager's and service manager's dashboards: every figure on a known dataset,
who may open what, the lists behind the figures, and queries that do not grow with data.

Time is frozen on Wednesday 11 March 2026 at noon (GMT). The week runs Monday 9 to
Sunday 15 March; the month from 1 March; the quarter from 1 January. With the default
settings a child on a plan is due every 10 working days (cut-off: last seen on or after
Wed 25 February), a child in need every 20 (on or after Wed 11 February).
"""

import datetime
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from cases.models import Case
from safeguarding.dashboards import queries_manager as q
from safeguarding.dashboards.common import moment
from safeguarding.models import DashboardSnapshot
from tests.factories import (
    CaseFactory,
    EscalationFactory,
    HazardFactory,
    MeetingFactory,
    MembershipFactory,
    PersonFactory,
    PlanFactory,
    RecordedVisitFactory,
    SupervisionSessionFactory,
    TeamFactory,
    UserFactory,
    VisitFactory,
)
from visits.models import ChildSeen, VisitFrequency
from visits.queries import children_seen_status

NOW = datetime.datetime(2026, 3, 11, 12, 0, tzinfo=datetime.UTC)
TODAY = datetime.date(2026, 3, 11)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def at(day, hour=10):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


D = datetime.date
OPENED = D(2026, 1, 5)


class World:
    """Two teams, their managers, workers and families (see the module docstring)."""

    def __init__(self):
        self.north = TeamFactory(name="North Assessment", code="north")
        self.south = TeamFactory(name="South Assessment", code="south")
        joined = at(D(2025, 6, 2))
        self.grace = UserFactory(
            username="grace", team=self.north, role=roles.TEAM_MANAGER, date_joined=joined
        )
        self.rachel = UserFactory(
            username="rachel", team=self.south, role=roles.TEAM_MANAGER, date_joined=joined
        )
        self.helen = UserFactory(
            username="helen", team=self.north, role=roles.SERVICE_MANAGER, date_joined=joined
        )
        self.amira = UserFactory(
            username="amira",
            first_name="Amira",
            last_name="Hussain",
            team=self.north,
            date_joined=joined,
        )
        self.ben = UserFactory(
            username="ben", first_name="Ben", last_name="Cole", team=self.north, date_joined=joined
        )
        self.priya = UserFactory(
            username="priya",
            team=self.north,
            role=roles.PRACTICE_SUPERVISOR,
            date_joined=at(D(2026, 3, 2)),
        )
        self.sam = UserFactory(username="sam", team=self.south, date_joined=joined)
        self.bs = UserFactory(username="bs", team=self.north, role=roles.BUSINESS_SUPPORT)
        self.cases = {}
        self.children = {}

    def case(self, key, team, workers=(), **kwargs):
        case = CaseFactory(
            team=team, family_name=key, created_by=self.grace, opened_on=D(2026, 1, 5), **kwargs
        )
        case.allocated_workers.add(*workers)
        self.cases[key] = case
        return case

    def child(self, key, case, *, plan=False, start=OPENED):
        person = PersonFactory(first_name=key, last_name=case.family_name, created_by=self.grace)
        MembershipFactory(case=case, person=person, start_date=start)
        if plan:
            PlanFactory(case=case, child=person, start_date=D(2026, 2, 1))
        self.children[key] = person
        return person

    def visit(self, case, day, seen=(), alone=(), outcome="completed", **kwargs):
        visit = RecordedVisitFactory(
            case=case, planned_for=at(day), outcome=outcome, lead_worker=self.amira, **kwargs
        )
        for child in seen:
            ChildSeen.objects.create(visit=visit, child=child, seen=True, seen_alone=child in alone)
        return visit


@pytest.fixture
def world(db, frozen):
    w = World()
    north, south = w.north, w.south
    # Adams (CP): A1 on a plan seen alone on the cut-off day; A2 in need, seen once, not alone.
    adams = w.case("Adams", north, [w.amira])
    a1, a2 = w.child("A1", adams, plan=True), w.child("A2", adams)
    w.visit(adams, D(2026, 2, 25), seen=[a1, a2], alone=[a1])
    # An active escalation past its deadline that the sweep has not marked yet.
    EscalationFactory(case=adams, state="open", trigger_date=D(2026, 3, 2), due_date=D(2026, 3, 10))
    # Brown (CP): B1 seen alone the day before the cut-off; hazard and a visit this week;
    # two defaults this month, one in February, one this month recorded in error.
    brown = w.case("Brown", north, [w.amira])
    b1 = w.child("B1", brown, plan=True)
    w.visit(brown, D(2026, 2, 24), seen=[b1], alone=[b1])
    for day in (D(2026, 3, 2), D(2026, 3, 4), D(2026, 2, 27)):
        w.visit(brown, day, outcome="defaulted")
    w.visit(brown, D(2026, 3, 5), outcome="defaulted", in_error=True)
    HazardFactory(case=brown, created_by=w.grace)
    VisitFactory(case=brown, planned_for=at(D(2026, 3, 12)), lead_worker=w.amira)
    EscalationFactory(
        case=brown,
        kind="non_compliance",
        state="open",
        trigger_date=D(2026, 3, 10),
        due_date=D(2026, 3, 20),
    )
    # Clark (CIN): C1 seen at each of the last three visits but never alone since February;
    # C2 joined on 2 March and not yet seen (not due). A parent with a hazard; a visit
    # planned on Monday of this week still not recorded.
    clark = w.case("Clark", north, [w.ben])
    c1, _c2 = w.child("C1", clark), w.child("C2", clark, start=D(2026, 3, 2))
    w.visit(clark, D(2026, 2, 2), seen=[c1], alone=[c1])
    for day in (D(2026, 3, 2), D(2026, 3, 5), D(2026, 3, 9)):
        w.visit(clark, day, seen=[c1])
    mother = PersonFactory(first_name="Mum", last_name="Clark", created_by=w.grace)
    MembershipFactory(case=clark, person=mother, relationship="mother")
    HazardFactory(case=None, person=mother, kind="threats", created_by=w.grace)
    VisitFactory(case=clark, planned_for=at(D(2026, 3, 9), 9), lead_worker=w.ben)
    EscalationFactory(case=clark, state="open", trigger_date=D(2026, 3, 4), due_date=D(2026, 3, 13))
    # Davis (CIN): D1 never seen since the case opened; an overdue escalation, one met late
    # this quarter and one met late last quarter; a hazard but the visit is next week.
    davis = w.case("Davis", north, [w.ben])
    w.child("D1", davis)
    EscalationFactory(case=davis, state="overdue", due_date=D(2026, 3, 6))
    for met_on, due in ((D(2026, 2, 20), D(2026, 2, 13)), (D(2025, 12, 10), D(2025, 12, 5))):
        meeting = MeetingFactory(case=davis, held_on=met_on, created_by=w.grace)
        EscalationFactory(
            case=davis,
            state="met_late",
            trigger_date=due - datetime.timedelta(days=9),
            due_date=due,
            met_by=meeting,
            met_on=met_on,
        )
    HazardFactory(case=davis, created_by=w.grace)
    VisitFactory(case=davis, planned_for=at(D(2026, 3, 16)), lead_worker=w.ben)
    # Evans: visited every 5 working days by agreement; F1 seen alone on 3 March (cut-off
    # 4 March). An ended hazard and a visit this week: not a hazard case.
    evans = w.case("Evans", north, [w.ben])
    f1 = w.child("F1", evans)
    VisitFrequency.objects.create(case=evans, working_days=5, reason="Baby under one")
    w.visit(evans, D(2026, 3, 3), seen=[f1], alone=[f1])
    HazardFactory(case=evans, created_by=w.grace, end_date=D(2026, 3, 1))
    VisitFactory(case=evans, planned_for=at(D(2026, 3, 13)), lead_worker=w.ben)
    # Restricted to Amira: no manager sees it (not named).
    secret = w.case("Secret", north, [w.amira], restricted=True)
    secret.restricted_to.add(w.amira)
    w.child("R1", secret, plan=True)
    EscalationFactory(case=secret, state="overdue", due_date=D(2026, 3, 2))
    # Closed: not counted.
    closed = w.case(
        "Closed",
        north,
        [w.amira],
        status=Case.Status.CLOSED,
        closed_on=D(2026, 3, 1),
        closure_reason="nfa",
    )
    w.child("X1", closed)
    # South: one family, never seen; an overdue escalation.
    south_case = w.case("Southey", south, [w.sam])
    w.child("S1", south_case)
    EscalationFactory(case=south_case, state="overdue", due_date=D(2026, 3, 3))
    # Supervision: Amira in date, Ben's last formal one in January (a cancelled one
    # since does not count), Priya new this month; Sam overdue.
    SupervisionSessionFactory(supervisee=w.amira, supervisor=w.priya, date=D(2026, 2, 20))
    SupervisionSessionFactory(supervisee=w.ben, supervisor=w.priya, date=D(2026, 1, 20))
    SupervisionSessionFactory(
        supervisee=w.ben,
        supervisor=w.priya,
        date=D(2026, 3, 1),
        status="cancelled",
        cancelled_reason="Court",
    )
    SupervisionSessionFactory(supervisee=w.sam, supervisor=w.rachel, date=D(2026, 1, 2))
    return w


NORTH = {
    "cases-cp": 2,
    "cases-cin": 3,
    "children-cp": 2,
    "children-cin": 5,
    "escalations-open": 2,
    "escalations-due-soon": 1,
    "escalations-overdue": 2,
    "escalations-met-late": 1,
    "children-not-seen": 3,
    "children-not-seen-alone": 2,
    "defaulted-visits": 2,
    "hazard-visits": 2,
    "workload": 3,
    "supervision-overdue": 1,
}
SOUTH = {
    "cases-cp": 0,
    "cases-cin": 1,
    "children-cp": 0,
    "children-cin": 1,
    "escalations-open": 0,
    "escalations-due-soon": 0,
    "escalations-overdue": 1,
    "escalations-met-late": 0,
    "children-not-seen": 1,
    "children-not-seen-alone": 0,
    "defaulted-visits": 0,
    "hazard-visits": 0,
    "workload": 1,
    "supervision-overdue": 1,
}
# Rows behind each figure for North (children by first name, cases by family name).
NORTH_ROWS = {
    "cases-cp": {"Adams", "Brown"},
    "cases-cin": {"Clark", "Davis", "Evans"},
    "children-cp": {"A1", "B1"},
    "children-cin": {"A2", "C1", "C2", "D1", "F1"},
    "escalations-open": {"Brown", "Clark"},
    "escalations-due-soon": {"Clark"},
    "escalations-overdue": {"Adams", "Davis"},
    "escalations-met-late": {"Davis"},
    "children-not-seen": {"B1", "D1", "F1"},
    "children-not-seen-alone": {"A2", "C1"},
    "defaulted-visits": {"Brown"},
    "hazard-visits": {"Brown", "Clark"},
    "workload": {"amira", "ben", "priya"},
    "supervision-overdue": {"ben"},
}


def names(key, rows):
    kind = q.FIGURE_BY_KEY[key].kind
    if kind in ("cases", "visits"):
        return {r.family_name for r in rows}
    if kind == "children":
        return {r.person.first_name for r in rows}
    if kind == "escalations":
        return {r.case.family_name for r in rows}
    return {r.username for r in rows}


def test_it_counts_every_figure_for_a_team(world):
    counts = q.counts_by_team(world.grace, moment(), world.north.pk)
    assert {k: counts[k].get(world.north.pk, 0) for k in NORTH} == NORTH
    assert counts["defaulted-cases"] == {world.north.pk: 1}
    assert world.south.pk not in counts["escalations-overdue"]


def test_it_lists_the_rows_behind_every_figure(world):
    m = moment()
    for key, expected in NORTH_ROWS.items():
        rows = list(q.figure_rows(world.grace, m, key, world.north.pk))
        assert names(key, rows) == expected, key
        assert len(rows) == len(expected), key


def test_it_looks_at_exactly_the_last_three_visits_for_seen_alone(world):
    adams, a2 = world.cases["Adams"], world.children["A2"]

    def flagged():
        rows = q.figure_rows(world.grace, moment(), "children-not-seen-alone", world.north.pk)
        return "A2" in names("children-not-seen-alone", rows)

    assert flagged()
    world.visit(adams, D(2026, 3, 3), seen=[a2], alone=[a2])
    world.visit(adams, D(2026, 3, 4), seen=[a2])
    world.visit(adams, D(2026, 3, 6), seen=[a2])
    assert not flagged()  # seen alone at the third most recent
    defaulted = world.visit(adams, D(2026, 3, 9), outcome="defaulted")
    ChildSeen.objects.create(visit=defaulted, child=a2, seen=False)
    assert not flagged()  # a default is not one of their visits
    world.visit(adams, D(2026, 3, 10), seen=[a2])
    assert flagged()  # the visit alone is now the fourth


def test_it_counts_each_workers_caseload_and_supervision(world):
    m = moment()
    rows = q.decorate_workers(q.figure_rows(world.grace, m, "workload", world.north.pk), m)
    got = {
        w.username: (
            w.cases_n or 0,
            w.children_n or 0,
            w.children_cp_n or 0,
            w.last_supervised,
            w.supervision_due,
        )
        for w in rows
    }
    # Amira's restricted case is not the team manager's to see, nor is the closed one counted.
    assert got == {
        "amira": (2, 3, 2, D(2026, 2, 20), D(2026, 3, 20)),
        "ben": (3, 4, 0, D(2026, 1, 20), D(2026, 2, 17)),
        "priya": (0, 0, 0, None, D(2026, 3, 30)),
    }
    late = q.decorate_workers(
        q.figure_rows(world.grace, m, "supervision-overdue", world.north.pk), m
    )
    assert [(w.username, w.supervision_days_overdue) for w in late] == [("ben", 22)]


def test_it_counts_every_team_side_by_side_for_a_service_manager(world):
    counts = q.counts_by_team(world.helen, moment())
    for key in NORTH:
        assert counts[key].get(world.north.pk, 0) == NORTH[key], key
        assert counts[key].get(world.south.pk, 0) == SOUTH[key], key


def test_it_matches_the_case_pages_rule_for_children_not_seen(world):
    m = moment()
    expected, details = set(), {}
    for case in Case.objects.filter(status="open", restricted=False):
        for status in children_seen_status(case, today=TODAY):
            details[(case.pk, status.child.pk)] = status
            if status.overdue(TODAY):
                expected.add((case.pk, status.child.pk))
    rows = q.figure_rows(world.helen, m, "children-not-seen")[:]
    assert {(r.case_id, r.person_id) for r in rows} == expected
    everyone = (
        q.figure_rows(world.helen, m, "children-cin")[:]
        + q.figure_rows(world.helen, m, "children-cp")[:]
    )
    for r in everyone:
        status = details[(r.case_id, r.person_id)]
        assert (r.next_due, r.last_seen, r.last_seen_alone, r.interval) == (
            status.next_due,
            status.last_seen,
            status.last_seen_alone,
            status.interval,
        )
        assert r.overdue == status.overdue(TODAY)


def listed(response):
    """The number a list page says it holds."""
    return int(re.search(r'id="figure-count">(\d+) ', response.content.decode()).group(1))


def test_it_shows_the_team_dashboard_with_a_link_to_every_list(client, world):
    client.force_login(world.grace)
    response = client.get(reverse("dashboards:home"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("dashboards:team")
    html = response.content.decode()
    for key, value in NORTH.items():
        url = reverse("dashboards:team_figure", args=[world.north.pk, key])
        match = re.search(
            rf'href="{re.escape(url)}">\s*<span class="app-figure__value">'
            rf"(\d+)</span>",
            html,
        )
        assert match and int(match.group(1)) == value, key
        listing = client.get(url)
        assert listing.status_code == 200
        assert listed(listing) == len(NORTH_ROWS[key]), key
    assert html.count('class="app-chart"') == 2 and "Workload per worker as a table" in html
    assert "Secret" not in html


def test_the_escalation_lists_tag_the_overdue_ones(client, world):
    client.force_login(world.grace)

    def page(key):
        return client.get(
            reverse("dashboards:team_figure", args=[world.north.pk, key])
        ).content.decode()

    tag = 'govuk-tag--red">Overdue'
    assert page("escalations-overdue").count(tag) == NORTH["escalations-overdue"]
    assert page("escalations-open").count(tag) == 0


def test_a_children_list_pages_through_every_child_once(client, world, monkeypatch):
    from safeguarding.dashboards import manager

    monkeypatch.setattr(manager, "PER_PAGE", 2)
    client.force_login(world.grace)
    url = reverse("dashboards:team_figure", args=[world.north.pk, "children-cin"])
    expected = NORTH_ROWS["children-cin"]
    pages = -(-len(expected) // 2)
    shown = []
    for number in range(1, pages + 1):
        html = client.get(url, {"page": number}).content.decode()
        shown += [name for name in expected if f">{name}" in html]
    assert sorted(shown) == sorted(expected)
    rows = q.figure_rows(world.grace, moment(), "children-cin", world.north.pk)
    assert rows[-1].pk == rows[len(rows) - 1].pk
    assert [r.pk for r in rows] == [r.pk for r in rows[:]]


def test_it_shows_teams_side_by_side_to_a_service_manager(client, world):
    client.force_login(world.helen)
    response = client.get(reverse("dashboards:home"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("dashboards:service")
    html = response.content.decode()
    for team, expected in ((world.north, NORTH), (world.south, SOUTH)):
        for key, value in expected.items():
            url = reverse("dashboards:team_figure", args=[team.pk, key])
            assert re.search(
                rf'href="{re.escape(url)}"><span class="govuk-visually-hidden">'
                rf"[^<]*</span>{value}</a>",
                html,
            ), (team.name, key)
    for key in NORTH:
        url = reverse("dashboards:service_figure", args=[key])
        total = NORTH[key] + SOUTH[key]
        assert re.search(
            rf'href="{re.escape(url)}"><span class="govuk-visually-hidden">'
            rf"All teams[^<]*</span>{total}</a>",
            html,
        ), key
        rows = len(NORTH_ROWS[key]) + SOUTH[key]
        assert listed(client.get(url)) == rows, key
    assert client.get(reverse("dashboards:team_detail", args=[world.south.pk])).status_code == 200


def test_it_keeps_a_team_manager_to_their_own_team(client, world):
    client.force_login(world.grace)
    assert client.get(reverse("dashboards:team_detail", args=[world.south.pk])).status_code == 404
    assert (
        client.get(
            reverse("dashboards:team_figure", args=[world.south.pk, "cases-cin"])
        ).status_code
        == 404
    )
    assert client.get(reverse("dashboards:service")).status_code == 403
    assert client.get(reverse("dashboards:service_figure", args=["cases-cin"])).status_code == 403
    assert (
        client.get(reverse("dashboards:team_figure", args=[world.north.pk, "nonsense"])).status_code
        == 404
    )
    client.force_login(world.rachel)
    html = client.get(reverse("dashboards:team")).content.decode()
    assert "South Assessment" in html and "North Assessment" not in html
    listing = client.get(reverse("dashboards:team_figure", args=[world.south.pk, "cases-cin"]))
    assert "Southey" in listing.content.decode() and "Adams" not in listing.content.decode()


@pytest.mark.parametrize("who", ["amira", "priya", "bs"])
def test_it_refuses_the_manager_dashboards_to_other_roles(client, world, who):
    client.force_login(getattr(world, who))
    for url in (
        reverse("dashboards:team"),
        reverse("dashboards:service"),
        reverse("dashboards:team_detail", args=[world.north.pk]),
        reverse("dashboards:team_figure", args=[world.north.pk, "workload"]),
        reverse("dashboards:service_figure", args=["workload"]),
    ):
        assert client.get(url).status_code == 403, url


def test_it_sends_anonymous_users_to_sign_in(client, world):
    response = client.get(reverse("dashboards:service"))
    assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]


def test_it_shows_a_restricted_case_only_to_a_manager_named_on_it(client, world):
    world.cases["Secret"].restricted_to.add(world.grace)
    counts = q.counts_by_team(world.grace, moment(), world.north.pk)
    assert counts["cases-cp"][world.north.pk] == NORTH["cases-cp"] + 1
    assert counts["escalations-overdue"][world.north.pk] == NORTH["escalations-overdue"] + 1
    helen = q.counts_by_team(world.helen, moment(), world.north.pk)
    assert helen["cases-cp"][world.north.pk] == NORTH["cases-cp"]


def test_it_escapes_what_users_typed(client, world):
    world.amira.first_name = "<b>Amira</b>"
    world.amira.save()
    case = world.cases["Clark"]
    case.family_name = "<script>x</script>"
    case.save()
    client.force_login(world.grace)
    for url in (
        reverse("dashboards:team"),
        reverse("dashboards:team_figure", args=[world.north.pk, "cases-cin"]),
        reverse("dashboards:team_figure", args=[world.north.pk, "workload"]),
    ):
        html = client.get(url).content.decode()
        assert "<script>x" not in html and "<b>Amira" not in html
    assert (
        "&lt;script&gt;x"
        in client.get(
            reverse("dashboards:team_figure", args=[world.north.pk, "cases-cin"])
        ).content.decode()
    )


# --- Queries do not grow with the data ---------------------------------------------------


def grow(w, n, start=0):
    """n more families in each team, each touching every figure."""
    for i in range(start, start + n):
        for team, worker in ((w.north, w.ben), (w.south, w.sam)):
            case = w.case(f"Grow{team.code}{i}", team, [worker])
            plan_child = w.child(f"G{team.code}{i}a", case, plan=True)
            other = w.child(f"G{team.code}{i}b", case)
            w.visit(case, D(2026, 1, 20), seen=[plan_child, other])
            w.visit(case, D(2026, 3, 2), outcome="defaulted")
            w.visit(case, D(2026, 3, 3), seen=[other])
            HazardFactory(case=case, created_by=w.grace)
            VisitFactory(case=case, planned_for=at(D(2026, 3, 13)), lead_worker=worker)
            EscalationFactory(case=case, state="open", due_date=D(2026, 3, 12))
            EscalationFactory(
                case=case, kind="non_compliance", state="overdue", due_date=D(2026, 3, 2)
            )
            meeting = MeetingFactory(case=case, held_on=D(2026, 2, 20), created_by=w.grace)
            EscalationFactory(
                case=case,
                state="met_late",
                due_date=D(2026, 2, 13),
                met_by=meeting,
                met_on=D(2026, 2, 20),
            )
            UserFactory(username=f"extra{team.code}{i}", team=team, date_joined=at(D(2025, 1, 1)))


def pages(w):
    urls = [(w.grace, reverse("dashboards:team")), (w.helen, reverse("dashboards:service"))]
    for f in q.FIGURES:
        urls.append((w.grace, reverse("dashboards:team_figure", args=[w.north.pk, f.key])))
        urls.append((w.helen, reverse("dashboards:service_figure", args=[f.key])))
    return urls


def query_counts(client, w):
    """Queries per page; the service page twice: working its figures out (no snapshot
    yet) and reading them from the snapshot that made."""
    DashboardSnapshot.objects.all().delete()
    counts = {}
    for user, url in pages(w) + [(w.helen, reverse("dashboards:service") + "#snapshot")]:
        client.force_login(user)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[url] = len(ctx.captured_queries)
    return counts


def test_it_asks_the_same_number_of_queries_whatever_the_data(client, world):
    grow(world, 1)
    small = query_counts(client, world)
    grow(world, 5, start=1)
    large = query_counts(client, world)
    assert large == small
    # And every figure had rows to show in both, so the pages did the same work.
    counts = q.counts_by_team(world.helen, moment())
    assert all(sum(counts[f.key].values()) >= 2 for f in q.FIGURES)
    # Working the service figures out also reads and writes its snapshot (6 queries);
    # reading them from the snapshot is a handful.
    service = reverse("dashboards:service")
    assert max(n for url, n in small.items() if url != service) <= 20, small
    assert small[service] <= 26 and small[service + "#snapshot"] <= 10, small

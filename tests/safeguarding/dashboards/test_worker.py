"""The "My work" dashboard: every figure on a small known family set, its scoping
through the policy, and a query count that does not grow with the worker's cases.

Time is frozen at Wednesday 11 March 2026, 10:00 (GMT): the week runs from Monday 9
to Sunday 15 March and the month from 1 March.
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
from accounts.models import ClosureDay, Notification
from cases.models import Case, Escalation
from safeguarding.dashboards import queries_worker
from safeguarding.workdays import add_working_days
from tests.factories import (
    CaseDiscussionFactory,
    CaseFactory,
    EscalationFactory,
    HazardFactory,
    MembershipFactory,
    PlanFactory,
    RecordedVisitFactory,
    SupervisionActionFactory,
    TeamFactory,
    UserFactory,
    VisitFactory,
)
from visits.models import ChildSeen, VisitFrequency
from visits.queries import children_seen_status

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2026, 3, 11, 10, 0))
TODAY = D(2026, 3, 11)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def completed(case, worker, when, seen):
    """A completed visit; `seen` maps each child to (seen, seen alone)."""
    visit = RecordedVisitFactory(
        case=case, lead_worker=worker, outcome="completed", planned_for=when
    )
    for child, (was_seen, alone) in seen.items():
        ChildSeen.objects.create(
            visit=visit,
            child=child,
            seen=was_seen,
            seen_alone=alone,
            reason_not_seen="" if alone else "Asleep",
        )
    return visit


def defaulted(case, worker, when, **extra):
    return RecordedVisitFactory(case=case, lead_worker=worker, planned_for=when, **extra)


def action(owner, case, due, **extra):
    discussion = CaseDiscussionFactory(session__supervisee=owner, case=case)
    return SupervisionActionFactory(discussion=discussion, owner=owner, due_date=due, **extra)


def notify(user, subject, created, **extra):
    fields = {"channel": Notification.Channel.IN_APP, "body": "", "link": "/cases/"}
    fields.update(extra)
    return Notification.objects.create(
        recipient=user, event_key=f"test:{subject}", subject=subject, created_at=created, **fields
    )


@pytest.fixture
def world(db, frozen):
    team = TeamFactory(name="North", code="north")
    amira = UserFactory(username="amira", first_name="Amira", last_name="Hussain", team=team)
    tom = UserFactory(username="tom", first_name="Tom", last_name="Fletcher", team=team)
    manager = UserFactory(username="grace", team=team, role=roles.TEAM_MANAGER)

    def case(family, *, workers=(amira,), **extra):
        made = CaseFactory(
            team=team, family_name=family, created_by=manager, opened_on=D(2026, 1, 5), **extra
        )
        made.allocated_workers.add(*workers)
        return made

    # Carter: Kayden on a plan (every 10 working days), Mia not (every 20).
    carter = case("Carter")
    kayden = MembershipFactory(
        case=carter,
        person__first_name="Kayden",
        person__last_name="Carter",
        person__date_of_birth=D(2019, 5, 20),
    ).person
    mia = MembershipFactory(
        case=carter,
        person__first_name="Mia",
        person__last_name="Carter",
        person__date_of_birth=D(2022, 1, 9),
    ).person
    MembershipFactory(case=carter, relationship="mother", person__first_name="Leanne")
    MembershipFactory(
        case=carter, person__first_name="Jordan", person__last_name="Carter", end_date=D(2026, 2, 1)
    )  # left the household: not listed
    PlanFactory(case=carter, child=kayden, start_date=D(2026, 2, 1))
    PlanFactory(case=carter, child=mia, start_date=D(2026, 1, 10), end_date=D(2026, 2, 15))
    completed(carter, amira, at(D(2026, 2, 20), 10), {kayden: (True, True), mia: (True, False)})
    completed(carter, amira, at(D(2026, 3, 2), 16), {kayden: (True, False), mia: (False, False)})
    # A visit marked in error does not count as seeing anyone.
    wrong = completed(carter, amira, at(D(2026, 3, 10), 9), {mia: (True, True)})
    wrong.in_error = True
    wrong.save()

    # Walsh: its own interval of 5 working days; Tyler never seen, Lexi joined in March.
    walsh = case("Walsh")
    VisitFrequency.objects.create(case=walsh, working_days=5, reason="Agreed at core group")
    tyler = MembershipFactory(
        case=walsh,
        person__first_name="Tyler",
        person__last_name="Walsh",
        person__date_of_birth=D(2017, 2, 1),
    ).person
    lexi = MembershipFactory(
        case=walsh,
        person__first_name="Lexi",
        person__last_name="Walsh",
        person__date_of_birth=D(2020, 8, 8),
        start_date=D(2026, 3, 2),
    ).person
    HazardFactory(case=walsh, details="Large dog loose in the yard")

    # Doyle: Tom's case, where Amira joins a visit this week. Kayden seen there does not
    # count for the Carter case.
    doyle = case("Doyle", workers=(tom,))
    completed(doyle, tom, at(D(2026, 3, 10), 11), {kayden: (True, True)})
    # Evans: Tom's case, nothing to do with Amira.
    evans = case("Evans", workers=(tom,))
    evans_child = MembershipFactory(case=evans, person__first_name="Ellie").person
    # Hidden: restricted, Amira allocated but not named on it.
    hidden = case("Hiddenfamily", restricted=True)
    hidden.restricted_to.add(tom)
    hidden_child = MembershipFactory(case=hidden, person__first_name="Harriet").person
    # Named: restricted, Amira allocated and named.
    named = case("Namedfamily", restricted=True)
    named.restricted_to.add(amira)
    MembershipFactory(
        case=named,
        person__first_name="Nadia",
        person__last_name="Named",
        person__date_of_birth=D(2016, 1, 1),
    )
    completed(named, amira, at(D(2026, 3, 9), 10), {})
    # Closed: Amira's, but closed.
    closed = case(
        "Closedfamily", status=Case.Status.CLOSED, closed_on=D(2026, 3, 1), closure_reason="nfa"
    )
    MembershipFactory(case=closed, person__first_name="Cleo")

    # Visits planned this week.
    planned = {
        "earlier": VisitFactory(case=carter, lead_worker=amira, planned_for=at(D(2026, 3, 9), 14)),
        "today": VisitFactory(
            case=walsh, lead_worker=amira, planned_for=at(TODAY, 16), announced=False
        ),
        "joined": VisitFactory(
            case=doyle, lead_worker=tom, joint_worker=amira, planned_for=at(D(2026, 3, 12), 10)
        ),
        "sunday": VisitFactory(
            case=carter, lead_worker=tom, planned_for=at(D(2026, 3, 15), 23, 30)
        ),
    }
    VisitFactory(case=carter, lead_worker=amira, planned_for=at(D(2026, 3, 16), 9))  # next week
    VisitFactory(case=carter, lead_worker=amira, planned_for=at(D(2026, 3, 8), 12))  # last week
    VisitFactory(case=evans, lead_worker=tom, planned_for=at(D(2026, 3, 12), 9))
    VisitFactory(case=hidden, lead_worker=amira, planned_for=at(D(2026, 3, 12), 9))
    VisitFactory(case=walsh, lead_worker=amira, planned_for=at(TODAY, 11), in_error=True)

    # Defaulted visits: two for Walsh and one for Carter count this month.
    defaults = [
        defaulted(walsh, amira, at(D(2026, 3, 3), 9)),
        defaulted(walsh, amira, at(D(2026, 3, 9), 17), default_reason="refused_entry"),
        defaulted(carter, amira, at(D(2026, 3, 1), 0, 30)),
    ]
    defaulted(walsh, amira, at(D(2026, 2, 28), 23, 59))  # last month
    defaulted(walsh, amira, at(D(2026, 3, 4), 9), in_error=True)
    RecordedVisitFactory(
        case=carter, lead_worker=amira, planned_for=at(D(2026, 3, 5), 9), outcome="cancelled"
    )  # the worker cancelled: not a default
    defaulted(hidden, amira, at(D(2026, 3, 5), 9))
    defaulted(evans, tom, at(D(2026, 3, 5), 9))

    escalations = {
        "carter_overdue": EscalationFactory(
            case=carter, state="overdue", trigger_date=D(2026, 2, 25), due_date=D(2026, 3, 6)
        ),
        "walsh_soon": EscalationFactory(
            case=walsh, state="open", trigger_date=D(2026, 3, 3), due_date=D(2026, 3, 12)
        ),
        "carter_later": EscalationFactory(
            case=carter,
            kind="non_compliance",
            state="open",
            trigger_date=D(2026, 3, 9),
            due_date=D(2026, 3, 20),
        ),
    }
    EscalationFactory(
        case=walsh,
        kind="non_compliance",
        state="cancelled",
        cancelled_reason="Raised on the wrong case",
    )
    EscalationFactory(case=hidden, state="open", due_date=D(2026, 3, 13))
    EscalationFactory(case=evans, state="overdue", due_date=D(2026, 3, 2))

    actions = {
        "overdue": action(amira, carter, D(2026, 3, 2), description="Call the school nurse"),
        "later": action(
            amira, walsh, D(2026, 3, 20), description="Book the core group", status="in_progress"
        ),
    }
    action(
        amira,
        walsh,
        D(2026, 3, 1),
        status="completed",
        completed_at=NOW,
        completed_by=amira,
        description="Done already",
    )
    action(tom, evans, D(2026, 3, 1), description="Tom's own action")
    action(amira, hidden, D(2026, 3, 1), description="On a case Amira may not see")

    notes = [notify(amira, f"Unread {i}", NOW - datetime.timedelta(hours=i)) for i in range(7)]
    notify(amira, "Already read", NOW, read_at=NOW)
    notify(amira, "By email", NOW, channel=Notification.Channel.EMAIL)
    notify(tom, "For Tom", NOW)

    return {
        "amira": amira,
        "tom": tom,
        "manager": manager,
        "carter": carter,
        "walsh": walsh,
        "doyle": doyle,
        "evans": evans,
        "hidden": hidden,
        "named": named,
        "closed": closed,
        "kayden": kayden,
        "mia": mia,
        "tyler": tyler,
        "lexi": lexi,
        "evans_child": evans_child,
        "hidden_child": hidden_child,
        "planned": planned,
        "defaults": defaults,
        "escalations": escalations,
        "actions": actions,
        "notes": notes,
    }


def children(work):
    return {(c.case.family_name, c.child.first_name): c for row in work.cases for c in row.children}


# --- Figures --------------------------------------------------------------------------------


def test_it_lists_my_open_cases_and_their_current_children(world):
    work = queries_worker.my_work(world["amira"], now=NOW)

    # The case holding the child longest overdue comes first.
    assert [row.case.family_name for row in work.cases] == ["Walsh", "Namedfamily", "Carter"]
    assert [c.child.first_name for c in work.cases[0].children] == ["Tyler", "Lexi"]
    assert [c.child.first_name for c in work.cases[2].children] == ["Kayden", "Mia"]
    assert work.children_count == 5
    assert [row.on_plan for row in work.cases] == [False, False, True]


def test_it_gives_each_child_last_seen_seen_alone_and_next_visit_due(world):
    got = children(queries_worker.my_work(world["amira"], now=NOW))

    kayden = got[("Carter", "Kayden")]
    assert (kayden.last_seen, kayden.last_seen_alone) == (D(2026, 3, 2), D(2026, 2, 20))
    assert (kayden.on_plan, kayden.interval, kayden.next_due) == (True, 10, D(2026, 3, 16))
    assert not kayden.overdue

    mia = got[("Carter", "Mia")]
    assert (mia.last_seen, mia.last_seen_alone) == (D(2026, 2, 20), None)
    assert (mia.on_plan, mia.interval, mia.next_due) == (False, 20, D(2026, 3, 20))
    assert not mia.overdue

    tyler = got[("Walsh", "Tyler")]
    assert (tyler.last_seen, tyler.last_seen_alone, tyler.interval) == (None, None, 5)
    assert tyler.next_due == D(2026, 1, 12)  # 5 working days from the case opening
    assert (tyler.overdue, tyler.days_overdue) == (True, 58)

    lexi = got[("Walsh", "Lexi")]
    assert lexi.next_due == D(2026, 3, 9)  # 5 working days from joining on 2 March
    assert (lexi.overdue, lexi.days_overdue) == (True, 2)

    nadia = got[("Namedfamily", "Nadia")]
    assert (nadia.last_seen, nadia.next_due, nadia.overdue) == (None, D(2026, 2, 2), True)


def test_it_agrees_with_the_case_page_for_every_child(world):
    work = queries_worker.my_work(world["amira"], now=NOW)

    for row in work.cases:
        page = [
            (s.child.pk, s.on_plan, s.last_seen, s.last_seen_alone, s.next_due, s.interval)
            for s in children_seen_status(row.case, today=TODAY)
        ]
        mine = [
            (s.child.pk, s.on_plan, s.last_seen, s.last_seen_alone, s.next_due, s.interval)
            for s in row.children
        ]
        assert mine == page


def test_it_skips_local_closure_days_as_the_case_page_does(world):
    ClosureDay.objects.create(date=D(2026, 3, 13), reason="Council closure")
    ClosureDay.objects.create(date=D(2026, 3, 16), reason="Council closure")

    work = queries_worker.my_work(world["amira"], now=NOW)

    kayden = children(work)[("Carter", "Kayden")]
    assert kayden.next_due == D(2026, 3, 18) == add_working_days(D(2026, 3, 2), 10)
    for row in work.cases:
        assert [s.next_due for s in row.children] == [
            s.next_due for s in children_seen_status(row.case, today=TODAY)
        ]


def test_it_puts_the_children_not_seen_in_time_first_longest_overdue_first(world):
    work = queries_worker.my_work(world["amira"], now=NOW)

    assert [(c.child.first_name, c.next_due) for c in work.out_of_view] == [
        ("Tyler", D(2026, 1, 12)),
        ("Nadia", D(2026, 2, 2)),
        ("Lexi", D(2026, 3, 9)),
    ]


def test_it_lists_visits_planned_this_week_that_i_lead_join_or_are_on_my_cases(world):
    visits = queries_worker.my_work(world["amira"], now=NOW).visits
    planned = world["planned"]

    assert visits.earlier == [planned["earlier"]]
    assert visits.today == [planned["today"]]
    assert visits.later == [planned["joined"], planned["sunday"]]
    assert visits.count == 4
    assert [v.has_hazard for v in visits.today] == [True]
    assert [v.has_hazard for v in visits.later] == [False, False]


def test_it_counts_defaulted_visits_this_month_by_case(world):
    work = queries_worker.my_work(world["amira"], now=NOW)

    assert [(d.case.family_name, d.visits) for d in work.defaults] == [
        ("Walsh", world["defaults"][:2]),
        ("Carter", world["defaults"][2:]),
    ]
    assert work.defaults_count == 3


def test_it_lists_open_escalations_on_my_cases_by_due_date(world):
    work = queries_worker.my_work(world["amira"], now=NOW)
    esc = world["escalations"]

    assert [(r.escalation, r.overdue, r.due_today, r.due_soon) for r in work.escalations] == [
        (esc["carter_overdue"], True, False, False),
        (esc["walsh_soon"], False, False, True),  # within 2 working days (13 March)
        (esc["carter_later"], False, False, False),
    ]
    assert work.escalations_overdue == 1


def test_it_flags_an_open_escalation_past_its_date_before_the_sweep_marks_it(world):
    Escalation.objects.filter(pk=world["escalations"]["walsh_soon"].pk).update(
        state="cancelled", cancelled_reason="Replaced"
    )
    EscalationFactory(
        case=world["walsh"], state="open", trigger_date=D(2026, 3, 1), due_date=D(2026, 3, 10)
    )
    EscalationFactory(case=world["named"], state="open", trigger_date=D(2026, 3, 1), due_date=TODAY)

    rows = queries_worker.my_work(world["amira"], now=NOW).escalations

    assert [(r.escalation.case.family_name, r.overdue, r.due_today) for r in rows] == [
        ("Carter", True, False),
        ("Walsh", True, False),
        ("Namedfamily", False, True),
        ("Carter", False, False),
    ]


def test_it_leaves_out_escalations_on_my_closed_cases(world):
    EscalationFactory(
        case=world["closed"], state="overdue", trigger_date=D(2026, 2, 1), due_date=D(2026, 2, 10)
    )

    rows = queries_worker.my_work(world["amira"], now=NOW).escalations

    assert world["closed"] not in {r.escalation.case for r in rows}
    assert len(rows) == 3


def test_the_page_tags_restricted_cases_and_unannounced_visits(client, world):
    client.force_login(world["amira"])

    html = client.get(reverse("dashboards:mine")).content.decode()

    restricted = re.findall(
        r">([A-Za-z]+)</a>\s*<span[^>]*>[^<]*</span>\s*"
        r'<strong class="govuk-tag govuk-tag--purple">Restricted</strong>',
        html,
    )
    assert restricted == ["Namedfamily"]
    unannounced = re.findall(
        r'<li class="app-dashboard-list__item[^"]*">((?:(?!</li>).)*)</li>', html, re.S
    )
    tagged = [item for item in unannounced if ">Unannounced</strong>" in item]
    assert len(tagged) == 1
    today = world["planned"]["today"]
    assert reverse("visits:detail", args=[today.case_id, today.pk]) in tagged[0]


def test_it_lists_my_open_supervision_actions(world):
    work = queries_worker.my_work(world["amira"], now=NOW)

    assert work.actions == [world["actions"]["overdue"], world["actions"]["later"]]
    assert work.actions_overdue == 1


def test_it_shows_my_latest_unread_notifications(world):
    work = queries_worker.my_work(world["amira"], now=NOW)

    assert work.notifications == world["notes"][:5]


# --- Scoping --------------------------------------------------------------------------------


def test_it_leaves_out_another_workers_case(world):
    work = queries_worker.my_work(world["amira"], now=NOW)

    everything = (
        [row.case for row in work.cases]
        + [d.case for d in work.defaults]
        + [r.escalation.case for r in work.escalations]
        + [a.case for a in work.actions]
        + [v.case for v in work.visits.earlier + work.visits.today + work.visits.later]
    )
    assert world["evans"] not in everything
    assert world["closed"] not in everything
    assert world["doyle"] not in [row.case for row in work.cases]


def test_it_leaves_out_a_restricted_case_i_am_allocated_to_but_not_named_on(world):
    work = queries_worker.my_work(world["amira"], now=NOW)

    everything = (
        [row.case for row in work.cases]
        + [d.case for d in work.defaults]
        + [r.escalation.case for r in work.escalations]
        + [a.case for a in work.actions]
        + [v.case for v in work.visits.earlier + work.visits.today + work.visits.later]
    )
    assert world["hidden"] not in everything
    assert world["named"] in everything


def test_the_page_shows_nothing_of_cases_i_may_not_see(client, world):
    client.force_login(world["amira"])

    html = client.get(reverse("dashboards:mine")).content.decode()

    for text in (
        "Hiddenfamily",
        "Harriet",
        "Evans",
        "Ellie",
        "Closedfamily",
        "Cleo",
        "On a case Amira may not see",
        "For Tom",
        "Tom&#x27;s own action",
    ):
        assert text not in html


def test_a_manager_sees_their_own_allocations_not_the_team(world):
    manager = world["manager"]
    mine = CaseFactory(
        team=world["carter"].team,
        family_name="Managersown",
        created_by=manager,
        opened_on=D(2026, 1, 5),
    )
    mine.allocated_workers.add(manager)

    work = queries_worker.my_work(manager, now=NOW)

    assert [row.case for row in work.cases] == [mine]
    assert work.escalations == [] and work.defaults == [] and work.actions == []


def test_the_page_leads_a_manager_to_their_team_dashboard(client, world):
    client.force_login(world["manager"])
    html = client.get(reverse("dashboards:mine")).content.decode()
    home = reverse("dashboards:home")
    assert f'href="{home}">Your team\'s dashboard' in html

    client.force_login(world["amira"])
    html = client.get(reverse("dashboards:mine")).content.decode()
    assert "Your team's dashboard" not in html


def test_a_user_in_no_role_sees_nothing(world):
    world["amira"].groups.clear()
    amira = type(world["amira"]).objects.get(pk=world["amira"].pk)

    work = queries_worker.my_work(amira, now=NOW)

    assert (work.cases, work.escalations, work.defaults, work.actions) == ([], [], [], [])
    assert work.visits.count == 0


# --- The page -------------------------------------------------------------------------------


def test_it_asks_who_you_are_first(client, db):
    response = client.get(reverse("dashboards:mine"))

    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_it_sends_a_social_worker_home_to_my_work(client, world):
    client.force_login(world["amira"])

    assert client.get("/").url == reverse("dashboards:home")
    assert client.get(reverse("dashboards:home")).url == reverse("dashboards:mine")


def test_the_page_shows_the_figures_and_links_each_item(client, world):
    client.force_login(world["amira"])

    response = client.get(reverse("dashboards:mine"))
    html = response.content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))

    assert response.status_code == 200
    assert "3 children not seen in time" in text
    for name, days in (("Tyler Walsh", 58), ("Nadia Named", 37), ("Lexi Walsh", 2)):
        assert re.search(rf"{name} \(SG-[\d-]+\) : {days} days overdue \(never seen\)", text)
    assert text.count("58 days overdue") == 2  # in the banner and in the table
    assert "every 5 working days" in text and "every 10 working days" in text
    assert "3 of 5 children overdue a visit" in text
    assert "1 visit today, 4 this week" in text
    assert "3 open escalations, 1 overdue" in text
    assert "3 defaulted visits this month" in text
    assert "2 supervision actions, 1 overdue" in text
    assert "7 unread notifications" in text
    assert "Outcome not recorded" in text
    for visit in world["planned"].values():
        assert reverse("visits:detail", args=[visit.case_id, visit.pk]) in html
        assert reverse("visits:record", args=[visit.case_id, visit.pk]) in html
    for visit in world["defaults"]:
        assert reverse("visits:detail", args=[visit.case_id, visit.pk]) in html
    for case in ("carter", "walsh", "named"):
        assert reverse("cases:detail", args=[world[case].pk]) in html
    assert f"{reverse('cases:detail', args=[world['walsh'].pk])}#seen" in html
    assert reverse("supervision:my_actions") in html
    assert reverse("accounts:notifications") in html
    assert "Unread 4" in text and "Unread 5" not in text
    assert "Call the school nurse" in text and "Done already" not in text
    assert "Due soon" in text
    assert "Never alone" in text


def test_the_page_escapes_what_users_typed(client, world):
    world["carter"].family_name = "Carter <script>alert(1)</script>"
    world["carter"].save()
    world["actions"]["overdue"].description = "<b>Call</b> the nurse"
    world["actions"]["overdue"].save()
    client.force_login(world["amira"])

    html = client.get(reverse("dashboards:mine")).content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "Carter &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;Call&lt;/b&gt; the nurse" in html


def test_the_page_says_so_when_there_is_nothing_to_do(client, db, frozen):
    worker = UserFactory(username="new", team=TeamFactory(code="north"))
    client.force_login(worker)

    text = client.get(reverse("dashboards:mine")).content.decode()

    assert "No open cases are allocated to you." in text
    assert re.search(r">0</span>\s*<span[^>]*>children overdue a visit<", text)
    assert "No visits planned today." in text
    assert "No open escalations on your cases." in text
    assert "No defaulted visits on your cases in March." in text
    assert "You have no open supervision actions." in text
    assert "No unread notifications." in text
    assert "not seen in time" not in text


# --- Queries --------------------------------------------------------------------------------


def add_cases(worker, count, start):
    """`count` cases for `worker`, each with two children (one on a plan), visits seen
    and not, a default this month, a visit this week, a hazard, an escalation, a
    supervision action and a notification."""
    for i in range(start, start + count):
        case = CaseFactory(
            team=worker.team, family_name=f"Family{i}", created_by=worker, opened_on=D(2026, 1, 5)
        )
        case.allocated_workers.add(worker)
        kids = [MembershipFactory(case=case).person, MembershipFactory(case=case).person]
        PlanFactory(case=case, child=kids[0])
        if i % 2:
            VisitFrequency.objects.create(case=case, working_days=7, reason="Agreed")
        completed(
            case, worker, at(D(2026, 2, 2), 10), {kids[0]: (True, True), kids[1]: (True, False)}
        )
        completed(case, worker, at(D(2026, 3, 2), 10), {kids[0]: (True, False)})
        defaulted(case, worker, at(D(2026, 3, 3), 9))
        VisitFactory(case=case, lead_worker=worker, planned_for=at(D(2026, 3, 12), 10))
        HazardFactory(case=case)
        EscalationFactory(case=case, state="open", due_date=D(2026, 3, 12 + i % 5))
        action(worker, case, D(2026, 3, 1 + i % 20))
        notify(worker, f"Note {i}", NOW - datetime.timedelta(minutes=i))


def render_counting(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("dashboards:mine"))
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_number_of_queries_does_not_grow_with_my_cases(client, db, frozen):
    worker = UserFactory(username="busy", team=TeamFactory(code="north"))
    client.force_login(worker)

    add_cases(worker, 2, 0)
    small, html = render_counting(client)
    assert html.count('class="govuk-table__body app-case-group"') == 2
    add_cases(worker, 10, 2)
    large, html = render_counting(client)

    assert html.count('class="govuk-table__body app-case-group"') == 12
    assert "12 supervision actions" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert large == small
    # Session, user and roles, the second factor's device (django-otp's middleware),
    # the page's nine reads, the lone-working panel's one, the unread count in the
    # navigation, the session's sliding expiry (three statements), and the access log's
    # one INSERT (a row per child shown).
    assert small <= 18, small

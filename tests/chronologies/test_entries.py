"""Every recorded event writes one chronology entry keyed by its source; saving again or
editing the source updates it; a source recorded in error leaves its entry struck."""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import roles
from cases import services as cs
from cases.models import Escalation, Meeting
from chronologies import services
from chronologies.models import ChronologyEntry, Significance
from chronologies.services import ManualEntryInput
from tests.factories import (
    AgencyFactory,
    CaseFactory,
    DecisionFactory,
    MembershipFactory,
    PersonFactory,
    UserFactory,
)
from visits import services as vs
from visits.models import Visit
from visits.services import ChildSeenInput, ObservationInput, Outcome

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2026, 3, 10, 16, 0))


def at(day, hour=10):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def manager(team):
    return UserFactory(username="boss", team=team, role=roles.TEAM_MANAGER)


@pytest.fixture
def case(worker):
    case = CaseFactory(team=worker.team, opened_on=D(2026, 1, 5))
    case.allocated_workers.add(worker)
    return case


@pytest.fixture
def child(case):
    return MembershipFactory(case=case, start_date=D(2026, 1, 5)).person


def entries(case, source_type=None):
    qs = ChronologyEntry.objects.filter(case=case)
    return qs.filter(source_type=source_type) if source_type else qs


def test_it_writes_one_entry_per_source_and_updates_it(case, worker):
    first = services.entry_record(
        case=case,
        source_type="test",
        source_id=1,
        category="case",
        occurred_on=D(2026, 1, 6),
        title="One",
        actor=worker,
    )
    again = services.entry_record(
        case=case,
        source_type="test",
        source_id=1,
        category="case",
        occurred_on=D(2026, 1, 7),
        title="Two",
        actor=worker,
    )
    assert first.pk == again.pk
    assert entries(case).count() == 1
    entry = entries(case).get()
    assert (entry.title, entry.occurred_on) == ("Two", D(2026, 1, 7))
    assert entry.history.count() == 2


def test_it_keeps_a_significance_a_person_chose(case, worker):
    entry = services.entry_record(
        case=case,
        source_type="t",
        source_id=1,
        category="case",
        occurred_on=D(2026, 1, 6),
        title="x",
    )
    services.entry_set_significance(actor=worker, entry=entry, significance="critical")
    services.entry_record(
        case=case,
        source_type="t",
        source_id=1,
        category="case",
        occurred_on=D(2026, 1, 6),
        title="y",
        significance="routine",
    )
    assert entries(case).get().significance == "critical"


def test_case_open_close_reopen(worker, manager, team):
    case = cs.case_create(
        actor=manager,
        family_name="Smith",
        team=team,
        summary="Neglect",
        opened_on=D(2026, 1, 5),
        allocated_workers=[worker],
    )
    assert entries(case, "case_opened").count() == 1
    cs.case_close(actor=manager, case=case, closed_on=D(2026, 3, 1), reason="nfa")
    assert entries(case, "case_closed").count() == 1
    cs.case_reopen(actor=manager, case=case, reason="New referral")
    assert entries(case, "case_reopened").count() == 1


def test_members_joining_leaving_and_in_error(case, worker, child):
    partner = PersonFactory(first_name="Dean", last_name="Cole")
    m = cs.membership_add(
        actor=worker, case=case, person=partner, relationship="partner", start_date=D(2026, 2, 1)
    )
    entry = entries(case, "member_joined").get()
    assert "Dean Cole (partner of a parent) joined" in entry.title
    assert entry.significance == "significant"
    cs.membership_end(actor=worker, membership=m, end_date=D(2026, 3, 1), reason="Moved out")
    assert entries(case, "member_left").get().details == "Moved out"
    cs.record_mark_in_error(actor=worker, record=m, reason="Wrong family")
    assert all(e.source_in_error for e in entries(case).filter(source_id=str(m.pk)))
    assert entries(case).filter(source_id=str(m.pk)).count() == 2


def _member_with_entries(case, worker, n):
    """A child on the case whose membership has n chronology entries: joined, then
    household changes (each its own entry), then left if n is even."""
    m = cs.membership_add(
        actor=worker,
        case=case,
        person=PersonFactory(),
        relationship="child",
        start_date=D(2026, 1, 10),
    )
    changes = n - 1 - (n % 2 == 0)
    for i in range(changes):
        cs.membership_set_household(
            actor=worker, membership=m, lives_in_household=i % 2 == 1, now=at(D(2026, 2, 1 + i))
        )
    if n % 2 == 0:
        cs.membership_end(actor=worker, membership=m, end_date=D(2026, 3, 1))
    mine = entries(case).filter(Q(source_id=str(m.pk)) | Q(source_id__startswith=f"{m.pk}:"))
    assert mine.count() == n and not mine.filter(source_in_error=True).exists()
    return m, mine


def test_a_membership_in_error_strikes_its_entries_in_statements_that_do_not_grow(case, worker):
    later = NOW + datetime.timedelta(hours=1)
    statements = {}
    for n in (2, 6):
        m, mine = _member_with_entries(case, worker, n)
        others = {
            e.pk: (e.source_in_error, e.history.count())
            for e in entries(case).exclude(pk__in=mine.values("pk"))
        }
        history = {e.pk: e.history.count() for e in mine}
        with CaptureQueriesContext(connection) as queries:
            cs.record_mark_in_error(actor=worker, record=m, reason="Wrong family", now=later)
        statements[n] = len(queries.captured_queries)

        for entry in mine.all():  # read again
            assert entry.source_in_error and entry.updated_at == later
            assert entry.history.count() == history[entry.pk] + 1
            row = entry.history.first()  # newest first
            assert (row.history_type, row.history_user, row.source_in_error, row.updated_at) == (
                "~",
                worker,
                True,
                later,
            )
            assert [c.person_id for c in row.children.all()] == [m.person_id]
        assert {
            e.pk: (e.source_in_error, e.history.count())
            for e in entries(case).exclude(pk__in=mine.values("pk"))
        } == others
    assert statements[2] == statements[6]


def test_addresses(case, worker):
    a = cs.address_add(
        actor=worker,
        case=case,
        line_1="1 High St",
        town="Leeds",
        postcode="LS1 1AA",
        start_date=D(2026, 1, 5),
    )
    cs.address_add(
        actor=worker,
        case=case,
        line_1="2 Low Rd",
        town="York",
        postcode="YO1 7HH",
        start_date=D(2026, 2, 5),
    )
    assert entries(case, "address").count() == 2
    assert "Leeds" in entries(case, "address").get(source_id=str(a.pk)).title
    cs.record_mark_in_error(actor=worker, record=a, reason="Typo")
    assert entries(case, "address").get(source_id=str(a.pk)).source_in_error


def test_plans_and_hazards(case, worker, child):
    plan = cs.plan_start(
        actor=worker, case=case, child=child, category="neglect", start_date=D(2026, 2, 1)
    )
    entry = entries(case, "plan_started").get()
    assert entry.significance == "critical" and list(entry.children.all()) == [child]
    cs.plan_end(actor=worker, plan=plan, end_date=D(2026, 3, 1))
    assert entries(case, "plan_ended").count() == 1
    hazard = cs.hazard_add(
        actor=worker, case=case, kind="animal", details="Large dog", start_date=D(2026, 1, 10)
    )
    assert entries(case, "hazard").count() == 1
    cs.hazard_end(actor=worker, hazard=hazard, end_date=D(2026, 2, 10))
    assert entries(case, "hazard_ended").count() == 1


def test_meetings_and_escalations(case, worker, manager, child):
    esc = cs.escalation_open(
        case=case,
        kind=Escalation.Kind.NON_COMPLIANCE,
        trigger_date=D(2026, 3, 2),
        reason="No engagement",
        actor=manager,
    )
    fired = entries(case, "escalation").get()
    assert fired.significance == "critical" and "(open)" in fired.title
    cs.meeting_record(
        actor=worker,
        case=case,
        kind=esc.required_meeting,
        held_on=D(2026, 3, 5),
        chair="A Chair",
        decisions="Plan agreed",
    )
    assert entries(case, "meeting").count() == 1
    assert entries(case, "escalation_closed").count() == 1
    assert "(met)" in entries(case, "escalation").get().title
    assert entries(case, "escalation").count() == 1


def test_escalation_overdue(case, manager, child):
    esc = cs.escalation_open(
        case=case,
        kind=Escalation.Kind.NON_COMPLIANCE,
        trigger_date=D(2026, 3, 2),
        reason="No engagement",
        actor=manager,
    )
    cs.escalation_refresh(esc.pk, now=NOW + datetime.timedelta(days=30))
    assert entries(case, "escalation_overdue").count() == 1
    cs.escalation_refresh(esc.pk, now=NOW + datetime.timedelta(days=31))
    assert entries(case, "escalation_overdue").count() == 1


def test_visits_with_children_seen_and_observations(case, worker, child):
    data = Outcome(
        outcome=Visit.Outcome.COMPLETED,
        occurred_at=at(D(2026, 3, 10)),
        children=[
            ChildSeenInput(child=child, seen=True, seen_alone=True, child_views="I like school")
        ],
        observations=[ObservationInput(what_was_seen="Mum soothed the baby")],
    )
    visit = vs.visit_log(actor=worker, case=case, data=data, now=NOW)
    entry = entries(case, "visit").get()
    assert "1 of 1 children seen, 1 seen alone" in entry.title
    assert "I like school" in entry.details
    assert entries(case, "observation").get().details == "Mum soothed the baby"
    defaulted = Outcome(
        outcome=Visit.Outcome.DEFAULTED,
        occurred_at=at(D(2026, 3, 10), 11),
        default_reason="no_answer",
    )
    vs.visit_record(actor=worker, visit=visit, data=defaulted, now=NOW)
    entry = entries(case, "visit").get()
    assert "defaulted" in entry.title and entry.significance == "significant"
    assert entries(case, "visit").count() == 1


def test_meeting_entry(case, worker):
    cs.meeting_record(
        actor=worker,
        case=case,
        kind=Meeting.Kind.CORE_GROUP,
        held_on=D(2026, 3, 5),
        chair="A Chair",
        decisions="x",
    )
    assert entries(case, "meeting").count() == 1
    assert entries(case, "meeting").get().title.startswith("Core group held")


def test_backfill_writes_again_every_entry_the_events_wrote_and_is_idempotent(
    case, worker, manager, child
):
    cs.plan_start(
        actor=worker, case=case, child=child, category="neglect", start_date=D(2026, 2, 1)
    )
    cs.hazard_add(
        actor=worker, case=case, kind="animal", details="Large dog", start_date=D(2026, 1, 10)
    )
    cs.escalation_open(
        case=case,
        kind=Escalation.Kind.NON_COMPLIANCE,
        trigger_date=D(2026, 3, 2),
        reason="No engagement",
        actor=manager,
    )
    cs.meeting_record(
        actor=worker,
        case=case,
        kind=Meeting.Kind.CORE_GROUP,
        held_on=D(2026, 3, 5),
        chair="A Chair",
        decisions="Plan agreed",
    )
    visit = vs.visit_log(
        actor=worker,
        case=case,
        now=NOW,
        data=Outcome(
            outcome=Visit.Outcome.COMPLETED,
            occurred_at=at(D(2026, 3, 10)),
            children=[ChildSeenInput(child=child, seen=True, seen_alone=True)],
            observations=[ObservationInput(what_was_seen="Mum soothed the baby")],
        ),
    )
    vs.visit_mark_in_error(actor=worker, visit=visit, reason="Wrong family", now=NOW)

    def written():
        return set(
            entries(case).values_list("source_type", "source_id", "title", "source_in_error")
        )

    by_events = written()
    assert {"plan_started", "hazard", "escalation", "meeting", "visit", "observation"} <= {
        source_type for source_type, _, _, _ in by_events
    }
    assert {(t, in_error) for t, _, _, in_error in by_events if t in ("visit", "observation")} == {
        ("visit", True),
        ("observation", True),
    }
    ChronologyEntry.objects.all().delete()
    call_command("chronology_backfill")
    backfilled = written()
    # The case opening and the child joining were made by factories here, not by events,
    # so only the backfill writes theirs.
    assert backfilled - by_events == {
        ("case_opened", str(case.pk), "Case opened", False),
        (
            "member_joined",
            str(case.memberships.get().pk),
            f"{child.full_name} (child) joined the household",
            False,
        ),
    }
    assert by_events <= backfilled
    call_command("chronology_backfill")
    assert written() == backfilled and entries(case).count() == len(backfilled)


def test_backfill_writes_supervision_decisions(case):
    decision = DecisionFactory(
        discussion__case=case,
        decided_on=D(2026, 3, 2),
        decision="Unannounced visit within the week",
    )
    assert not entries(case).filter(source_type="supervision_decision").exists()
    call_command("chronology_backfill", case=case.pk)
    entry = entries(case).get(source_type="supervision_decision", source_id=str(decision.pk))
    assert entry.occurred_on == D(2026, 3, 2) and entry.category == "supervision"
    assert entry.details == "Unannounced visit within the week"
    assert entry.analysis == decision.reasons
    decision.decision = "Unannounced visit within two days"
    decision.save()
    count = entries(case).count()
    call_command("chronology_backfill", case=case.pk)
    entry.refresh_from_db()
    assert entry.details == "Unannounced visit within two days"
    assert entries(case).count() == count


# --- Manual entries ----------------------------------------------------------------------


def manual(**changes):
    fields = dict(
        occurred_on=D(2026, 2, 14),
        title="School reports bruising",
        details="Teacher saw bruise on arm",
        informant_type="",
        agency=None,
    )
    return ManualEntryInput(**{**fields, **changes})


def test_manual_entry_needs_a_source(case, worker):
    with pytest.raises(ValidationError) as exc:
        services.entry_add_manual(actor=worker, case=case, data=manual())
    assert "source" in exc.value.message_dict


def test_manual_entry_from_an_agency_or_informant(case, worker, child):
    school = AgencyFactory(name="Oak Primary", kind="school")
    entry = services.entry_add_manual(
        actor=worker,
        case=case,
        data=manual(agency=school, children=[child], significance="significant"),
    )
    assert entry.source_label == "Oak Primary" and list(entry.children.all()) == [child]
    entry = services.entry_add_manual(
        actor=worker, case=case, data=manual(informant_type="neighbour", informant_name="Mrs Jones")
    )
    assert entry.source_label == "Neighbour"


def test_manual_entry_with_an_approximate_date(case, worker):
    entry = services.entry_add_manual(
        actor=worker,
        case=case,
        data=manual(
            occurred_on=D(2025, 11, 20), date_is_approximate=True, informant_type="grandparent"
        ),
    )
    assert entry.occurred_on == D(2025, 11, 1)
    assert entry.date_label == "November 2025 (approximate)"


def test_manual_entry_refuses_future_dates_and_other_cases_children(case, worker):
    other = MembershipFactory(case=CaseFactory(team=case.team)).person
    with pytest.raises(ValidationError) as exc:
        services.entry_add_manual(
            actor=worker,
            case=case,
            data=manual(occurred_on=D(2026, 4, 1), informant_type="anonymous", children=[other]),
        )
    assert {"occurred_on", "children"} <= set(exc.value.message_dict)


def test_significance_and_in_error(case, worker):
    entry = services.entry_add_manual(
        actor=worker, case=case, data=manual(informant_type="ex_partner")
    )
    services.entry_set_significance(actor=worker, entry=entry, significance="critical")
    with pytest.raises(ValidationError):
        services.entry_mark_in_error(actor=worker, entry=entry, reason=" ")
    services.entry_mark_in_error(actor=worker, entry=entry, reason="Wrong family")
    entry.refresh_from_db()
    assert entry.in_error and entry.significance == Significance.CRITICAL
    assert entry.is_struck and ChronologyEntry.objects.filter(pk=entry.pk).exists()


def test_visits_in_error_are_struck_at_once(case, worker, child):
    data = Outcome(
        outcome=Visit.Outcome.COMPLETED,
        occurred_at=at(D(2026, 3, 10)),
        children=[ChildSeenInput(child=child, seen=True, seen_alone=False)],
        observations=[ObservationInput(what_was_seen="Dad shouted at the baby")],
    )
    visit = vs.visit_log(actor=worker, case=case, data=data, now=NOW)
    struck = entries(case).filter(source_type__in=("visit", "observation"))
    assert struck.count() == 2 and not any(e.source_in_error for e in struck)
    vs.visit_mark_in_error(actor=worker, visit=visit, reason="Wrong family")
    assert all(
        e.source_in_error for e in entries(case).filter(source_type__in=("visit", "observation"))
    )

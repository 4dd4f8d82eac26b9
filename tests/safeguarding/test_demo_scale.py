"""The scale builder at a tiny scale builds the promised shapes, the way the real code
would have written them."""

import datetime
import random
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Max, Q
from django.utils import timezone

from accounts import roles
from accounts.models import User
from cases.models import Case, Escalation, Hazard, Membership, Person
from chronologies.models import ChronologyEntry
from safeguarding.demo_scale import add_due_escalations, build_scale, scale_teams
from supervision.models import Action, SupervisionSession
from visits.models import ChildSeen, Visit


@pytest.fixture
def built(db):
    return build_scale(
        60, rng=random.Random(7), today=timezone.localdate(), password="a-long-demo-password"
    )


def _scale_cases():
    return Case.objects.filter(team__in=scale_teams())


def test_it_builds_cases_people_and_staff_with_caseloads(built):
    cases = _scale_cases()
    assert cases.count() == 60
    assert built["cases"] == 60 and built["visits"] == Visit.objects.count()
    people = Person.objects.filter(memberships__case__in=cases).distinct().count()
    assert 2.5 * 60 <= people <= 3.6 * 60
    workers = User.objects.filter(team__in=scale_teams(), groups__name=roles.SOCIAL_WORKER)
    assert workers.exists()
    assert (
        User.objects.filter(team__in=scale_teams(), groups__name=roles.TEAM_MANAGER).count()
        == scale_teams().count()
    )
    assert User.objects.filter(
        username="scale-service", groups__name=roles.SERVICE_MANAGER
    ).exists()
    # every case is allocated to a worker of its own team
    assert not cases.exclude(allocated_workers__team=models_f("team")).exists()


def models_f(name):
    from django.db.models import F

    return F(name)


def test_it_builds_visit_histories_with_children_seen_and_plans_ahead(built):
    today = timezone.localdate()
    visits = Visit.objects.filter(case__in=_scale_cases())
    assert visits.count() >= 10 * 60
    outcomes = set(visits.values_list("outcome", flat=True))
    assert outcomes == {"completed", "defaulted", "cancelled", "planned"}
    # planned visits in the future on open cases, with their lead worker allocated
    ahead = visits.filter(outcome="planned", planned_for__date__gte=today)
    assert ahead.exists()
    assert not ahead.exclude(case__allocated_workers=models_f("lead_worker")).exists()
    assert not visits.filter(
        outcome="planned", case__status="closed", planned_for__date__gte=today
    ).exists()
    # defaults carry a reason, completed visits record each child seen (or not)
    assert not visits.filter(outcome="defaulted", default_reason="").exists()
    seen = ChildSeen.objects.filter(visit__in=visits)
    assert seen.filter(seen=True, seen_alone=True).exists()
    assert seen.filter(seen=False).exclude(reason_not_seen="").exists()
    assert not seen.exclude(visit__outcome="completed").exists()
    assert not seen.filter(seen=False, seen_alone=True).exists()
    # children are members of the visited case
    assert not seen.exclude(child__memberships__case=models_f("visit__case")).exists()
    # times of day: mostly office hours, some not
    hours = [timezone.localtime(v).hour for v in visits.values_list("planned_for", flat=True)]
    assert sum(9 <= h < 17 for h in hours) > len(hours) / 2
    assert any(h < 9 or h >= 17 for h in hours)


def test_it_writes_the_chronology_entries_the_receivers_would(built):
    cases = _scale_cases()
    recorded = Visit.objects.filter(case__in=cases).exclude(outcome="planned")
    entries = ChronologyEntry.objects.filter(case__in=cases)
    visit_entries = entries.filter(source_type="visit")
    assert visit_entries.count() == recorded.count()
    assert set(visit_entries.values_list("source_id", flat=True)) == {
        str(pk) for pk in recorded.values_list("pk", flat=True)
    }
    # an entry is on the case of its visit, with the children of the visit
    sample = recorded.filter(outcome="completed").first()
    entry = visit_entries.get(source_id=str(sample.pk))
    assert entry.case_id == sample.case_id
    assert entry.occurred_at == sample.occurred_at
    assert set(entry.children.values_list("pk", flat=True)) == set(
        sample.children.values_list("child_id", flat=True)
    )
    assert entries.filter(source_type="case_opened").count() == 60
    manual = entries.filter(source_type="manual")
    assert manual.exists()
    assert not manual.filter(agency__isnull=True, informant_type="").exists()
    assert entries.filter(source_type="visit", significance="significant").exists()
    # in-error visits strike their entries
    for pk in recorded.filter(in_error=True).values_list("pk", flat=True):
        assert visit_entries.get(source_id=str(pk)).source_in_error


def test_it_builds_drift_escalations_hazards_and_supervision(built):
    today = timezone.localdate()
    cases = _scale_cases()
    # some open families have not had a child seen for over six weeks
    last_seen = cases.filter(status="open").annotate(
        last=Max("visits__occurred_at", filter=Q(visits__children__seen=True))
    )
    assert any(
        row.last is None or timezone.localdate(row.last) < today - datetime.timedelta(days=42)
        for row in last_seen
    )
    defaults = cases.annotate(n=Count("visits", filter=Q(visits__outcome="defaulted")))
    assert defaults.filter(n__gte=4).exists()
    escalations = Escalation.objects.filter(case__in=cases)
    for esc in escalations:
        assert esc.state in ("met", "met_late", "cancelled")
        if esc.state != "cancelled":
            assert esc.met_by.case_id == esc.case_id
            assert esc.met_by.kind == esc.required_meeting
            assert esc.met_by.held_on >= esc.trigger_date
    assert Hazard.objects.filter(
        Q(case__in=cases) | Q(person__memberships__case__in=cases)
    ).exists()
    assert SupervisionSession.objects.filter(
        supervisee__team__in=scale_teams(), status="held"
    ).exists()
    assert Action.objects.filter(case__in=cases).exists()
    assert Membership.objects.filter(case__in=cases, relationship="child").exists()


def test_it_adds_on_top_on_new_teams_when_run_again(built):
    teams = scale_teams().count()
    out = StringIO()
    call_command("seed_demo", "--scale", "20", "--quiet-logins", stdout=out)
    assert "60 generated cases already here; adding 20 more" in out.getvalue()
    assert "Scale data: 20 cases" in out.getvalue()
    assert _scale_cases().count() == 80
    assert scale_teams().count() == teams + 1


def test_it_makes_a_fraction_of_open_cases_due_for_the_sweep(built):
    made = add_due_escalations(count=5, rng=random.Random(1), today=timezone.localdate())
    assert made == 5
    assert Escalation.objects.filter(state="open").count() >= 5

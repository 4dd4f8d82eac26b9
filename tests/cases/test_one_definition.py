""" "A child on a plan on day D" and "a hazard active now" are each defined once in SQL
(cases.queries: child_on_plan_q, hazard_active_q, and the dashboards' forms of them)
and once in Python (cases.rules: children_on_plan, hazards_active), for pages that have
already read the rows. Every answer must agree on every day of a family whose history
has every edge: stays that start and end on the day, open-ended ones, ones recorded in
error, a child who moved to another case, plans recorded under another case or in
error, hazards on the case and on people who have left."""

import datetime
import random

import pytest
from django.db.models import Exists, OuterRef

from cases import queries, rules
from cases.models import Case, ChildProtectionPlan, Hazard, Membership
from safeguarding.dashboards import queries_manager
from safeguarding.dashboards.common import hazard_now, moment
from tests.factories import (
    CaseFactory,
    HazardFactory,
    MembershipFactory,
    PersonFactory,
    PlanFactory,
    TeamFactory,
    UserFactory,
)

D = datetime.date
FIRST, LAST = D(2026, 1, 1), D(2026, 4, 30)


def _span(rng):
    start = FIRST + datetime.timedelta(days=rng.randrange(0, 100))
    end = None if rng.random() < 0.4 else start + datetime.timedelta(days=rng.randrange(0, 40))
    return start, end


@pytest.fixture
def families(db):
    """Six cases of one team whose people, plans and hazards cover the edges."""
    rng = random.Random(20261207)
    team = TeamFactory()
    author = UserFactory(team=team)
    cases = [CaseFactory(team=team, created_by=author, opened_on=FIRST) for _ in range(6)]
    people = [PersonFactory(created_by=author) for _ in range(14)]
    for person in people:
        for _ in range(rng.randrange(1, 3)):
            start, end = _span(rng)
            MembershipFactory(
                case=rng.choice(cases),
                person=person,
                relationship=rng.choice(["child", "child", "child", "mother", "other_adult"]),
                start_date=start,
                end_date=end,
                in_error=rng.random() < 0.15,
            )
        for n in range(rng.randrange(1, 3)):
            start, end = _span(rng)
            if n and end is None:  # one open plan a child, at most
                end = start + datetime.timedelta(days=10)
            PlanFactory(
                case=rng.choice(cases),
                child=person,
                start_date=start,
                end_date=end,
                in_error=rng.random() < 0.2,
            )
        if rng.random() < 0.5:
            start, end = _span(rng)
            HazardFactory(
                case=None,
                person=person,
                start_date=start,
                end_date=end,
                in_error=rng.random() < 0.2,
                created_by=author,
            )
    for case in cases:
        for _ in range(rng.randrange(0, 3)):
            start, end = _span(rng)
            HazardFactory(
                case=case,
                start_date=start,
                end_date=end,
                in_error=rng.random() < 0.2,
                created_by=author,
            )
    return author, cases


def _days():
    day = FIRST
    while day <= LAST:
        yield day
        day += datetime.timedelta(days=3)


def test_a_child_on_a_plan_is_the_same_answer_in_sql_and_in_python(families):
    author, cases = families
    plans = list(ChildProtectionPlan.objects.all())
    answers = {True: 0, False: 0}
    for day in _days():
        m = moment(datetime.datetime.combine(day, datetime.time(12), datetime.UTC))
        listed = {c.pk: c.on_plan for c in queries.case_list(author, today=day)}
        flags_few = set(
            Case.objects.filter(queries_manager.case_flags(m, few=True)["cases-cp"]).values_list(
                "pk", flat=True
            )
        )
        flags_county = set(
            Case.objects.filter(queries_manager.case_flags(m)["cases-cp"]).values_list(
                "pk", flat=True
            )
        )
        annotated = dict(
            Case.objects.annotate(
                on_plan=Exists(
                    ChildProtectionPlan.objects.filter(queries.child_on_plan_q(day, OuterRef("pk")))
                )
            ).values_list("pk", "on_plan")
        )
        for case in cases:
            memberships = list(Membership.objects.filter(case=case))
            in_python = rules.children_on_plan(plans, memberships, day)
            in_sql = set(
                ChildProtectionPlan.objects.filter(
                    queries.child_on_plan_q(day, case.pk)
                ).values_list("child_id", flat=True)
            )
            assert in_python == in_sql, (case.pk, day)
            on_plan = bool(in_python)
            assert queries.case_has_child_on_plan(case.pk, day) is on_plan, (case.pk, day)
            assert annotated[case.pk] is on_plan, (case.pk, day)
            assert (case.pk in flags_few) is on_plan, (case.pk, day)
            assert (case.pk in flags_county) is on_plan, (case.pk, day)
            assert listed[case.pk] is on_plan, (case.pk, day)
            answers[on_plan] += 1
    # The family history must give both answers many times, or the test proves little.
    assert answers[True] > 20 and answers[False] > 20, answers


def test_a_hazard_active_now_is_the_same_answer_in_sql_and_in_python(families):
    author, cases = families
    hazards = list(Hazard.objects.all())
    answers = {True: 0, False: 0}
    for day in _days():
        m = moment(datetime.datetime.combine(day, datetime.time(12), datetime.UTC))
        dashboard = dict(Case.objects.annotate(flag=hazard_now(m, "pk")).values_list("pk", "flag"))
        listed = {c.pk: c.has_hazard for c in queries.case_list(author, today=day)}
        county = set(
            Case.objects.filter(queries_manager._hazard_now(m)).values_list("pk", flat=True)
        )
        for case in cases:
            memberships = list(Membership.objects.filter(case=case))
            in_python = {
                h.pk for h in rules.hazards_active(hazards, memberships, day, case_id=case.pk)
            }
            in_sql = set(
                Hazard.objects.filter(queries.hazard_active_q(day, case.pk)).values_list(
                    "pk", flat=True
                )
            )
            assert in_python == in_sql, (case.pk, day)
            assert {h.pk for h in queries.active_hazards(case, today=day)} == in_sql, (case.pk, day)
            any_now = bool(in_sql)
            assert dashboard[case.pk] is any_now, (case.pk, day)
            assert (case.pk in county) is any_now, (case.pk, day)
            assert listed[case.pk] is any_now, (case.pk, day)
            answers[any_now] += 1
    assert answers[True] > 20 and answers[False] > 20, answers

"""The case page reads each part of the case record once and cuts every section from it:
what each section shows, and that the number of queries does not grow with the record."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts import roles
from cases import queries, rules, services
from cases.models import Case, ChildProtectionPlan, Hazard, Membership
from chronologies.models import ChronologyEntry
from tests.factories import (
    AddressFactory,
    CaseFactory,
    ChronologyEntryFactory,
    DecisionFactory,
    EscalationFactory,
    HazardFactory,
    MeetingFactory,
    MembershipFactory,
    PersonFactory,
    PlanFactory,
    UserFactory,
)

D = datetime.date
TODAY = D(2026, 3, 2)
NOW = timezone.make_aware(datetime.datetime(2026, 3, 2, 10, 0))


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def page(client, case) -> str:
    response = client.get(reverse("cases:detail", args=[case.pk]))
    assert response.status_code == 200
    return response.content.decode()


def section(body: str, start: str, end: str) -> str:
    return body.split(start, 1)[1].split(end, 1)[0]


def query_count(client, case) -> int:
    with CaptureQueriesContext(connection) as ctx:
        page(client, case)
    return len(ctx.captured_queries)


def test_each_hazard_shows_where_it_belongs(signed_in, case):
    father = MembershipFactory(case=case, relationship="father", person__first_name="Wayne").person
    left = MembershipFactory(
        case=case, relationship="partner", person__first_name="Lee", end_date=D(2026, 2, 1)
    ).person
    wrong = MembershipFactory(
        case=case, relationship="other_adult", in_error=True, person__first_name="Wrongly"
    ).person
    HazardFactory(case=case, details="Large dog")
    HazardFactory(case=None, person=father, kind="threats", details="Threatened staff")
    HazardFactory(case=None, person=left, kind="weapon", details="Kept a knife")
    HazardFactory(case=None, person=wrong, kind="other", details="Not this family")
    HazardFactory(case=case, kind="infection", details="Scabies", end_date=D(2026, 2, 1))
    HazardFactory(
        case=case,
        kind="other",
        details="Typed on the wrong case",
        in_error=True,
        in_error_reason="Wrong case",
    )

    body = page(signed_in, case)
    banner = section(body, 'id="hazards-title"', "</div>")
    listed = section(body, 'id="hazards"', 'id="escalations"')
    assert "Large dog" in banner and "Threatened staff" in banner and "(Wayne" in banner
    for text in ("Kept a knife", "Scabies", "Typed on the wrong case", "Not this family"):
        assert text not in banner
    for text in (
        "Large dog",
        "Threatened staff",
        "Kept a knife",
        "Scabies",
        "Typed on the wrong case",
    ):
        assert text in listed
    assert "Not this family" not in listed
    assert listed.count("app-in-error") == 1
    assert "2 hazards" in section(body, 'aria-label="Case status"', "</ul>")

    record = queries.case_record(case, today=TODAY)
    assert record.active_hazards == queries.active_hazards(case, today=TODAY)
    assert {h.details for h in record.person_hazards} == {"Threatened staff", "Kept a knife"}


def test_a_child_on_a_plan_recorded_on_another_case_shows_as_on_a_plan(signed_in, case):
    child = MembershipFactory(case=case, person__first_name="Kayden").person
    MembershipFactory(case=case, person__first_name="Mia", person__date_of_birth=D(2020, 5, 1))
    other = CaseFactory(team=case.team)
    PlanFactory(case=other, child=child, category="emotional", start_date=D(2026, 2, 1))

    body = page(signed_in, case)
    assert 'govuk-tag--red">Child protection plan</strong>' in body
    children = section(body, 'id="children"', 'id="household"')
    assert children.index("Kayden") < children.index("Mia")  # the older child first
    assert "Emotional abuse</strong> since 1 Feb 2026" in children
    # The plan was recorded on the other case, so it is not one of this case's plans.
    assert "No child on this case has had a plan." in body

    record = queries.case_record(case, today=TODAY)
    fresh = Case.objects.get(pk=case.pk)  # not the copy the page's reads were kept on
    assert record.children_status == queries.children_plan_status(fresh, today=TODAY)


def test_plans_recorded_on_the_case_are_listed_newest_first(signed_in, case):
    older = MembershipFactory(case=case, person__first_name="Kayden").person
    newer = MembershipFactory(case=case, person__first_name="Mia").person
    PlanFactory(case=case, child=older, start_date=D(2026, 1, 10), end_date=D(2026, 2, 1))
    PlanFactory(case=case, child=newer, start_date=D(2026, 2, 20))

    plans = section(page(signed_in, case), 'id="plans"', 'id="hazards"')
    assert plans.index("Mia") < plans.index("Kayden")


def test_recent_changes_name_who_made_each_one(signed_in, worker, case):
    MembershipFactory(case=case, person__first_name="Kayden")  # written with no user
    services.case_update(
        actor=worker, case=case, family_name="Carter", summary="Neglect: the school reports hunger."
    )

    changes = section(page(signed_in, case), 'id="changes"', "See the full history")
    assert changes.index("Changed: case") < changes.index("Added: household member")
    assert f"by {escape(worker.get_full_name())}" in changes  # O'Neill is O&#x27;Neill
    assert "by the system" in changes
    assert (
        "Summary of concerns: Concerns about neglect reported by school. → "
        "Neglect: the school reports hunger." in changes
    )


def test_the_chronology_panel_counts_every_entry_and_lists_the_latest_significant(signed_in, case):
    ChronologyEntryFactory(case=case, title="Routine note", occurred_on=D(2026, 2, 25))
    for day, title in ((3, "First concern"), (10, "Second concern"), (17, "Third concern")):
        ChronologyEntryFactory(
            case=case, title=title, significance="significant", occurred_on=D(2026, 2, day)
        )
    ChronologyEntryFactory(
        case=case,
        title="Struck concern",
        significance="critical",
        occurred_on=D(2026, 2, 20),
        in_error=True,
    )
    entries = ChronologyEntry.objects.filter(case=case)
    significant = entries.exclude(significance="routine").filter(in_error=False).count()

    panel = section(page(signed_in, case), 'id="chronology"', "Open the chronology")
    assert f"{entries.count()} entries, {significant} significant or critical." in panel
    assert "<del>Struck concern</del>" in panel
    assert (
        panel.index("Struck concern") < panel.index("Third concern") < panel.index("Second concern")
    )
    assert "First concern" not in panel and "Routine note" not in panel


def test_the_chronology_panel_of_a_case_with_no_entries(signed_in, case):
    ChronologyEntry.objects.filter(case=case).delete()  # any the case's creation wrote
    panel = section(page(signed_in, case), 'id="chronology"', "Open the chronology")
    assert "0 entries." in panel and "<li>" not in panel


@pytest.mark.parametrize("made, link", [(2, False), (6, True)])
def test_the_supervision_panel_shows_five_decisions_and_counts_them_all(
    signed_in, case, made, link
):
    for day in range(1, made + 1):
        DecisionFactory(
            discussion__case=case, decision=f"Decision {day}", decided_on=D(2026, 2, day)
        )

    panel = section(page(signed_in, case), 'id="supervision-decisions"', "<h2")
    assert panel.count("<li") == min(made, 5)
    assert ("Decision 1<" in panel) is (made <= 5)  # the oldest drops off the list
    assert (f"All {made} supervision decisions" in panel) is link


def test_the_case_page_asks_the_same_number_of_queries_however_long_the_record(
    signed_in, case, worker
):
    def grow(n):
        for i in range(n):
            person = MembershipFactory(case=case, relationship="other_adult").person
            HazardFactory(case=None, person=person, details=f"Hazard {i}")
            HazardFactory(case=case, details=f"Case hazard {i}")
            AddressFactory(case=case, start_date=D(2025, 1, 1 + i), end_date=D(2025, 2, 1))
            MeetingFactory(case=case)
            EscalationFactory(
                case=case,
                state="cancelled",
                cancelled_reason="Raised twice",
                kind="non_compliance",
                raised_by=worker,
            )
            ChronologyEntryFactory(case=case, significance="significant")
            DecisionFactory(discussion__case=case)

    grow(1)
    small = query_count(signed_in, case)
    grow(3)
    assert query_count(signed_in, case) == small


def test_children_plan_status_reuses_what_the_case_page_read(case, django_assert_num_queries):
    child = MembershipFactory(case=case).person
    PlanFactory(case=case, child=child)
    record = queries.case_record(case, today=TODAY)
    with django_assert_num_queries(0):
        assert queries.children_plan_status(case, today=TODAY) == record.children_status
    # Another day, or another copy of the case, reads again.
    with django_assert_num_queries(2):
        queries.children_plan_status(case, today=TODAY + datetime.timedelta(days=1))
    fresh = Case.objects.get(pk=case.pk)
    with django_assert_num_queries(2):
        queries.children_plan_status(fresh, today=TODAY)


def test_someone_added_in_error_leaves_the_household_but_not_the_history(signed_in, case):
    membership = MembershipFactory(
        case=case, relationship="other_adult", person__first_name="Wrongly"
    )
    Membership.objects.filter(pk=membership.pk).update(in_error=True)
    person = membership.person
    person.first_name = "Renamed"
    person.save()

    body = page(signed_in, case)
    assert "Renamed" not in section(body, 'id="household"', 'id="addresses"')
    changes = section(body, 'id="changes"', "See the full history")
    assert "Changed: person" in changes and "First name: Wrongly → Renamed" in changes


def test_active_on_asks_what_each_model_s_active_on_q_asks(case):
    """The case page sorts what it read by active_on; the other pages ask the database
    with active_on_q. Both must agree on every edge: start and end days, open-ended,
    not yet started, ended, recorded in error."""
    person = MembershipFactory(case=case, start_date=D(2025, 1, 1)).person
    spans = [
        (D(2026, 3, 2), None),
        (D(2026, 3, 3), None),
        (D(2026, 1, 1), D(2026, 3, 2)),
        (D(2026, 1, 1), D(2026, 3, 1)),
        (D(2026, 3, 2), D(2026, 3, 2)),
    ]
    for start, end in spans:
        for in_error in (False, True):
            MembershipFactory(
                case=case,
                person__first_name="Span",
                start_date=start,
                end_date=end,
                in_error=in_error,
            )
            PlanFactory(
                case=case, child=PersonFactory(), start_date=start, end_date=end, in_error=in_error
            )
            HazardFactory(case=case, start_date=start, end_date=end, in_error=in_error)
    HazardFactory(case=None, person=person, start_date=D(2026, 3, 2))
    for model in (Membership, ChildProtectionPlan, Hazard):
        in_sql = set(model.objects.filter(model.active_on_q(TODAY)))
        in_python = {r for r in model.objects.all() if rules.active_on(r, TODAY)}
        assert in_python == in_sql and len(in_sql) >= 3, model


def test_recent_changes_compare_allocations_without_a_query_for_each_change(
    signed_in, case, worker
):
    manager = UserFactory(team=worker.team, role=roles.TEAM_MANAGER)
    colleague = UserFactory(team=worker.team)

    def grow(n):
        for i in range(n):
            services.case_allocate(actor=manager, case=case, workers=[worker, colleague])
            services.case_update(
                actor=worker, case=case, family_name="Carter", summary=f"Summary {i}"
            )
            services.case_allocate(actor=manager, case=case, workers=[worker])

    grow(1)
    small = query_count(signed_in, case)
    changes = section(page(signed_in, case), 'id="changes"', "See the full history")
    assert "Allocated workers: 2 people → 1 people" in changes
    assert "Allocated workers: 1 people → 2 people" in changes
    assert "Summary of concerns: Concerns about neglect reported by school. → Summary 0" in changes
    grow(3)
    assert query_count(signed_in, case) == small

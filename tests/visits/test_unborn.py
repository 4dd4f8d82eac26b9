"""An unborn baby is not a child to be seen (R5): the visit form does not ask about
seeing them, the service refuses such answers, and no "not seen" or "not seen alone"
figure counts them (the case page, My work, the team figures and their lists, the
last-seen rows) until a birth date is recorded; from then on the visiting interval
counts from the birth.

Time is frozen on Wednesday 11 March 2026 at noon (GMT). A child in need is due every
20 working days.
"""

import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from cases import services as case_services
from safeguarding.dashboards import queries_manager as q
from safeguarding.dashboards import queries_worker
from safeguarding.dashboards.common import moment
from safeguarding.workdays import add_working_days
from tests.factories import (
    CaseFactory,
    MembershipFactory,
    PersonFactory,
    RecordedVisitFactory,
    UserFactory,
)
from tests.form_html import form_data
from visits import rules, services
from visits.models import ChildLastSeen, ChildSeen, Visit
from visits.queries import children_seen_status
from visits.services import ChildSeenInput, Outcome

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2026, 3, 11, 12, 0))
TODAY = D(2026, 3, 11)
DUE = D(2026, 4, 20)


def at(day, hour=10):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def manager(team):
    return UserFactory(username="tm", team=team, role=roles.TEAM_MANAGER)


@pytest.fixture
def case(worker):
    case = CaseFactory(team=worker.team, family_name="Carter", opened_on=D(2026, 1, 5))
    case.allocated_workers.add(worker)
    return case


@pytest.fixture
def amy(case):
    return MembershipFactory(
        case=case, person__first_name="Amy", person__last_name="Carter", start_date=D(2026, 1, 5)
    ).person


@pytest.fixture
def baby(case):
    person = PersonFactory(
        first_name="", last_name="Carter", date_of_birth=None, expected_date_of_birth=DUE
    )
    MembershipFactory(case=case, person=person, start_date=D(2026, 1, 5))
    return person


def old_visit(case, worker, day, rows):
    """A completed visit with children's rows written as the form used to write them,
    an unborn baby's included."""
    visit = RecordedVisitFactory(
        case=case, lead_worker=worker, outcome="completed", planned_for=at(day)
    )
    for child, (seen, alone) in rows.items():
        ChildSeen.objects.create(
            visit=visit,
            child=child,
            seen=seen,
            seen_alone=alone,
            reason_not_seen="" if alone else "Asleep in the pram",
        )
    return visit


@pytest.fixture
def history(frozen, case, worker, amy, baby):
    """Amy seen alone last week; the baby "not seen" and "seen, not alone" on visits
    recorded while the form still asked about them."""
    old_visit(case, worker, D(2026, 2, 2), {amy: (True, True), baby: (False, False)})
    old_visit(case, worker, D(2026, 3, 4), {amy: (True, True), baby: (True, False)})


def figures(manager, team):
    m = moment()
    counts = q.counts_by_team(manager, m, team.pk)
    rows = {key: q.figure_rows(manager, m, key, team.pk)[:] for key in q.CHILD_FIGURES}
    return counts, rows


# --- The rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "due", "day", "unborn"),
    [
        pytest.param(None, DUE, TODAY, True, id="due-date-only"),
        pytest.param(None, None, TODAY, False, id="no-dates-is-taken-as-born"),
        pytest.param(D(2026, 3, 2), None, TODAY, False, id="born-before"),
        pytest.param(D(2026, 3, 11), None, TODAY, False, id="born-that-day"),
        pytest.param(D(2026, 3, 12), None, TODAY, True, id="born-the-day-after"),
    ],
)
def test_it_knows_a_child_not_yet_born_on_a_day(born, due, day, unborn):
    assert rules.unborn_on(born, due, day) is unborn


def test_the_clock_of_a_child_never_seen_starts_at_the_latest_of_opening_joining_and_birth():
    def start(**dates):
        return rules.seen_clock_start(
            last_seen=None,
            opened_on=D(2026, 1, 5),
            joined_on=dates.get("joined"),
            date_of_birth=dates.get("born"),
            expected_date_of_birth=dates.get("due"),
            today=TODAY,
        )

    assert start(joined=D(2026, 1, 12), born=D(2018, 4, 2)) == D(2026, 1, 12)
    assert start(joined=D(2026, 1, 5), born=D(2026, 3, 2)) == D(2026, 3, 2)
    assert start(joined=D(2026, 1, 5), due=DUE) is None


# --- The service and the form ---------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(ChildSeenInput(child=None, seen=True, seen_alone=True), id="seen-alone"),
        pytest.param(ChildSeenInput(child=None, seen=False, reason_not_seen="Unborn"), id="not"),
        pytest.param(ChildSeenInput(child=None, seen=True, bedroom_seen=True), id="bedroom-seen"),
    ],
)
def test_it_refuses_any_seen_answer_for_an_unborn_baby(frozen, worker, case, baby, answer):
    answer.child = baby

    with pytest.raises(ValidationError) as exc:
        services.visit_log(
            actor=worker,
            case=case,
            data=Outcome(outcome="completed", occurred_at=at(TODAY), children=[answer]),
            now=NOW,
        )

    assert list(exc.value.message_dict) == ["children-0"]
    assert "not yet born on 11/03/2026" in exc.value.message_dict["children-0"][0]
    assert not Visit.objects.filter(case=case).exists()


def test_once_born_the_baby_can_be_seen_at_visits_after_the_birth_only(frozen, worker, case, baby):
    case_services.person_update(
        actor=worker, person=baby, date_of_birth=D(2026, 3, 2), expected_date_of_birth=None
    )
    baby.refresh_from_db()

    with pytest.raises(ValidationError):
        services.visit_log(
            actor=worker,
            case=case,
            data=Outcome(
                outcome="completed",
                occurred_at=at(D(2026, 2, 27)),
                children=[ChildSeenInput(child=baby, seen=True)],
            ),
            now=NOW,
        )
    visit = services.visit_log(
        actor=worker,
        case=case,
        data=Outcome(
            outcome="completed",
            occurred_at=at(D(2026, 3, 9)),
            children=[ChildSeenInput(child=baby, seen=True, seen_alone=False, reason_not_seen="")],
        ),
        now=NOW,
    )

    assert ChildSeen.objects.get(visit=visit).seen
    row = ChildLastSeen.objects.get(case=case, child=baby)
    assert timezone.localdate(row.last_seen_at) == D(2026, 3, 9)


def test_the_visit_form_names_the_unborn_baby_and_asks_nothing_about_seeing_them(
    frozen, signed_in, case, amy, baby
):
    page = signed_in.get(reverse("visits:log", args=[case.pk]))

    html = page.content.decode()
    assert "Unborn baby (due 20 Apr 2026)" in html
    fields = form_data(html)
    assert f"child-{amy.pk}-bedroom_seen" in fields
    assert not [name for name in fields if name.startswith(f"child-{baby.pk}-")]
    assert f'name="child-{baby.pk}-seen"' not in html
    assert f'value="{baby.pk}"' not in html, "not offered as someone who was there"

    response = signed_in.post(
        reverse("visits:log", args=[case.pk]),
        {
            **{k: v for k, v in fields.items()},
            "o-outcome": "completed",
            f"child-{amy.pk}-seen": "yes",
            f"child-{amy.pk}-seen_alone": "yes",
            "o-time": "10:00",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    visit = Visit.objects.get(case=case)
    assert [row.child for row in visit.children.all()] == [amy]


def test_a_visit_with_an_old_row_for_the_unborn_baby_is_edited_without_touching_it(
    frozen, signed_in, case, worker, amy, baby, history
):
    visit = Visit.objects.filter(case=case).latest("occurred_at")
    url = reverse("visits:record", args=[case.pk, visit.pk])
    page = signed_in.get(url)
    data = form_data(page.content.decode())
    data["o-notes"] = ["Baby's cot is ready"]

    assert signed_in.post(url, data).status_code == 302

    row = ChildSeen.objects.get(visit=visit, child=baby)
    assert (row.seen, row.seen_alone, row.history.count()) == (True, False, 1)
    detail = signed_in.get(reverse("visits:detail", args=[case.pk, visit.pk])).content.decode()
    assert "Unborn baby (due 20 Apr 2026): not yet born at this visit" in detail


# --- No "not seen" figure counts them -------------------------------------------------------


def test_no_last_seen_row_counts_a_visit_made_before_the_birth(history, case, amy, baby):
    row = ChildLastSeen.objects.get(case=case, child=baby)
    assert (row.last_seen_at, row.last_alone_at, row.alone_in_last_three) == (None, None, None)
    assert ChildLastSeen.objects.get(case=case, child=amy).alone_in_last_three is True


def test_the_case_page_lists_the_baby_as_not_yet_born_not_as_never_seen(
    history, signed_in, case, baby
):
    [amy_status, baby_status] = sorted(
        children_seen_status(case, today=TODAY), key=lambda s: s.child.first_name != "Amy"
    )
    assert (baby_status.unborn, baby_status.next_due, baby_status.overdue(TODAY)) == (
        True,
        None,
        False,
    )
    assert not amy_status.unborn

    html = signed_in.get(reverse("cases:detail", args=[case.pk])).content.decode()
    panel = html[html.index('id="seen"') :]
    panel = panel[: panel.index("</table>")]
    baby_row = panel[panel.index("Unborn baby (due 20 Apr 2026)") :]
    baby_row = baby_row[: baby_row.index("</tr>")]
    assert "Not yet born" in baby_row
    assert "Never alone" not in baby_row and "Overdue" not in baby_row


def test_my_work_does_not_count_the_baby_as_overdue_a_visit(history, worker, baby):
    work = queries_worker.my_work(worker, now=NOW)

    [row] = work.cases
    baby_status = next(c for c in row.children if c.child == baby)
    assert (baby_status.unborn, baby_status.next_due, baby_status.overdue) == (True, None, False)
    assert work.out_of_view == []


def test_the_team_figures_count_the_baby_as_a_child_but_not_as_never_seen_alone(
    history, manager, team, baby, signed_in, client
):
    counts, rows = figures(manager, team)

    assert counts["children-total"][team.pk] == 2
    assert counts["children-not-seen"].get(team.pk, 0) == 0
    assert counts["children-not-seen-alone"].get(team.pk, 0) == 0
    assert rows["children-not-seen"] == [] and rows["children-not-seen-alone"] == []
    assert baby.pk in {m.person_id for m in rows["children-cin"]}

    client.force_login(manager)
    listed = client.get(reverse("dashboards:team_figure", args=[team.pk, "children-cin"]))
    assert "Unborn baby (due 20 Apr 2026)" in listed.content.decode()


def test_once_born_the_baby_is_due_a_visit_counted_from_the_birth(
    history, frozen, worker, manager, team, case, baby
):
    # Born after the visits that wrongly recorded them, joined the case on 5 January.
    case_services.person_update(
        actor=worker, person=baby, date_of_birth=D(2026, 3, 5), expected_date_of_birth=None
    )

    due = add_working_days(D(2026, 3, 5), 20)
    assert due == D(2026, 4, 2)
    page = next(s for s in children_seen_status(case, today=TODAY) if s.child == baby)
    mine = next(
        c for c in queries_worker.my_work(worker, now=NOW).cases[0].children if c.child == baby
    )
    m = moment()
    figure = next(
        r
        for r in q.child_rows(q.case_ids(manager, m, team.pk), m, few=True)
        if r.person_id == baby.pk
    )
    assert page.next_due == mine.next_due == figure.next_due == due
    assert not (page.unborn or mine.unborn or figure.unborn)
    # The visits before the birth still saw no one.
    assert ChildLastSeen.objects.get(case=case, child=baby).last_seen_at is None
    counts, _ = figures(manager, team)
    assert counts["children-not-seen"].get(team.pk, 0) == 0

    frozen.move_to(timezone.make_aware(datetime.datetime(2026, 4, 3, 12, 0)))
    counts, rows = figures(manager, team)
    assert baby.pk in [r.person_id for r in rows["children-not-seen"]]


def test_a_birth_date_recorded_before_a_visit_lets_that_visit_count(
    frozen, case, worker, amy, baby
):
    old_visit(case, worker, D(2026, 3, 9), {baby: (True, False)})
    assert ChildLastSeen.objects.get(case=case, child=baby).last_seen_at is None

    case_services.person_update(
        actor=worker, person=baby, date_of_birth=D(2026, 3, 2), expected_date_of_birth=None
    )

    row = ChildLastSeen.objects.get(case=case, child=baby)
    assert timezone.localdate(row.last_seen_at) == D(2026, 3, 9)
    assert row.alone_in_last_three is False

import datetime

import pytest
from django.test import override_settings

from supervision import queries, rules
from tests.factories import CaseDiscussionFactory, SupervisionSessionFactory

from .conftest import TODAY

D = datetime.date


@pytest.mark.parametrize(
    "last, since, today, due, overdue",
    [
        (D(2026, 2, 10), D(2025, 1, 1), D(2026, 3, 10), D(2026, 3, 10), False),
        (D(2026, 2, 10), D(2025, 1, 1), D(2026, 3, 11), D(2026, 3, 10), True),
        (None, D(2026, 3, 1), D(2026, 3, 20), D(2026, 3, 29), False),
        (None, D(2026, 1, 1), D(2026, 3, 20), D(2026, 1, 29), True),
    ],
)
def test_it_counts_four_weeks_from_the_last_one(last, since, today, due, overdue):
    assert rules.next_due(last, since=since, every_days=28) == due
    assert rules.is_overdue(due, today) is overdue


def test_it_lists_a_worker_whose_formal_supervision_is_overdue(people, frozen):
    worker, supervisor = people["worker"], people["supervisor"]
    SupervisionSessionFactory(supervisee=worker, supervisor=supervisor, date=D(2026, 2, 9))
    overdue = queries.overdue_supervisions(supervisor, today=TODAY)
    assert [row.worker for row in overdue] == [worker]
    assert overdue[0].due == D(2026, 3, 9) and overdue[0].days_overdue == 1
    # The team manager sees it too; a manager of another team does not.
    assert worker in [
        r.worker for r in queries.overdue_supervisions(people["manager"], today=TODAY)
    ]
    assert queries.overdue_supervisions(people["other_manager"], today=TODAY) == []


def test_it_does_not_count_ad_hoc_cancelled_or_planned_sessions(people, frozen):
    worker, supervisor = people["worker"], people["supervisor"]
    SupervisionSessionFactory(supervisee=worker, supervisor=supervisor, date=D(2026, 2, 9))
    SupervisionSessionFactory(
        supervisee=worker, supervisor=supervisor, date=D(2026, 3, 2), kind="ad_hoc"
    )
    SupervisionSessionFactory(
        supervisee=worker,
        supervisor=supervisor,
        date=D(2026, 3, 3),
        status="cancelled",
        cancelled_reason="Court",
    )
    SupervisionSessionFactory(
        supervisee=worker, supervisor=supervisor, date=D(2026, 3, 4), status="planned"
    )
    assert worker in [r.worker for r in queries.overdue_supervisions(supervisor, today=TODAY)]
    SupervisionSessionFactory(supervisee=worker, supervisor=supervisor, date=D(2026, 3, 9))
    assert queries.overdue_supervisions(supervisor, today=TODAY) == []


@override_settings(SUPERVISION_FORMAL_EVERY_DAYS=42)
def test_it_reads_the_interval_from_settings(people, frozen):
    worker, supervisor = people["worker"], people["supervisor"]
    SupervisionSessionFactory(supervisee=worker, supervisor=supervisor, date=D(2026, 2, 9))
    assert queries.overdue_supervisions(supervisor, today=TODAY) == []


def test_it_lists_a_cp_case_not_discussed_for_four_weeks(people, cp_case, cin_case, frozen):
    worker, supervisor = people["worker"], people["supervisor"]
    session = SupervisionSessionFactory(
        supervisee=worker, supervisor=supervisor, date=D(2026, 2, 9)
    )
    CaseDiscussionFactory(session=session, case=cp_case)
    rows = queries.undiscussed_cp_cases(supervisor, today=TODAY)
    assert [r.case for r in rows] == [cp_case]  # the CIN case has no plan: not listed
    assert rows[0].last_discussed == D(2026, 2, 9) and rows[0].due == D(2026, 3, 9)
    assert [r.case for r in queries.undiscussed_cp_cases(people["manager"], today=TODAY)] == [
        cp_case
    ]
    assert queries.undiscussed_cp_cases(people["other_manager"], today=TODAY) == []


def test_it_counts_from_the_plan_start_when_never_discussed(people, cp_case, frozen):
    # Plan started 5 January: due 2 February, overdue since.
    rows = queries.undiscussed_cp_cases(people["manager"], today=TODAY)
    assert rows[0].last_discussed is None and rows[0].due == D(2026, 2, 2)


def test_it_stops_listing_a_cp_case_once_discussed(people, cp_case, frozen):
    session = SupervisionSessionFactory(
        supervisee=people["worker"], supervisor=people["supervisor"], date=D(2026, 3, 3)
    )
    CaseDiscussionFactory(session=session, case=cp_case)
    assert queries.undiscussed_cp_cases(people["supervisor"], today=TODAY) == []
    # A discussion in a session that was cancelled does not count.
    session.status = "cancelled"
    session.cancelled_reason = "Sick"
    session.save()
    assert [r.case for r in queries.undiscussed_cp_cases(people["supervisor"], today=TODAY)] == [
        cp_case
    ]

"""A child never seen is due the visiting interval after they joined the case (or it
opened): the case page, My work and the team figures date them alike, and a membership
recorded in error is not when they joined."""

import datetime

import time_machine
from django.utils import timezone

from accounts import roles
from safeguarding.dashboards import queries_manager as q
from safeguarding.dashboards import queries_worker
from safeguarding.dashboards.common import moment
from tests.factories import CaseFactory, MembershipFactory, UserFactory
from visits.queries import children_seen_status

D = datetime.date
NOW = timezone.make_aware(datetime.datetime(2026, 3, 20, 12, 0))


def test_a_membership_in_error_does_not_date_a_never_seen_child(team, worker):
    manager = UserFactory(username="tm", team=team, role=roles.TEAM_MANAGER)
    case = CaseFactory(team=team, opened_on=D(2026, 1, 5))
    case.allocated_workers.add(worker)
    wrong = MembershipFactory(
        case=case, start_date=D(2026, 1, 5), in_error=True, in_error_reason="Wrong child"
    )
    MembershipFactory(case=case, person=wrong.person, start_date=D(2026, 3, 9))

    with time_machine.travel(NOW, tick=False):
        m = moment()
        page = children_seen_status(case, today=m.today)
        mine = queries_worker.my_work(worker, now=NOW).cases[0].children
        figures = [r for r in q.child_rows(q.case_ids(manager, m, team.pk), m, few=True)]
        counts = q.counts_by_team(manager, m, team.pk)

    # 20 working days (a child in need) from 9 March, not from 5 January.
    assert [s.next_due for s in page] == [D(2026, 4, 8)]
    assert [c.next_due for c in mine] == [D(2026, 4, 8)]
    assert [r.next_due for r in figures] == [D(2026, 4, 8)]
    assert counts["children-not-seen"].get(team.pk, 0) == 0

import datetime

import pytest
import time_machine
from django.utils import timezone

from accounts import roles
from tests.factories import CaseFactory, MembershipFactory, PlanFactory, TeamFactory, UserFactory

NOW = timezone.make_aware(datetime.datetime(2026, 3, 10, 10, 0))
TODAY = NOW.date()


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def people(db):
    """A worker, their supervisor, the team manager, a colleague who sees the team's
    cases, a service manager and someone from another team."""
    # Fixed names: a random surname could be a family's, and the pages name the user.
    team = TeamFactory(name="North", code="north")
    other = TeamFactory(name="South", code="south")
    joined = timezone.make_aware(datetime.datetime(2025, 1, 6, 9, 0))
    made = {
        "worker": UserFactory(
            username="sw", first_name="Sam", last_name="Wilde", team=team, date_joined=joined
        ),
        "supervisor": UserFactory(
            username="ps",
            first_name="Pat",
            last_name="Shore",
            team=team,
            role=roles.PRACTICE_SUPERVISOR,
            date_joined=joined,
        ),
        "manager": UserFactory(
            username="tm", first_name="Terry", last_name="Marsh", team=team, role=roles.TEAM_MANAGER
        ),
        "colleague": UserFactory(
            username="col", first_name="Chris", last_name="Olden", team=team, date_joined=joined
        ),
        "admin": UserFactory(
            username="bs",
            first_name="Bo",
            last_name="Stanway",
            team=team,
            role=roles.BUSINESS_SUPPORT,
        ),
        "service_manager": UserFactory(
            username="sm",
            first_name="Sol",
            last_name="Marr",
            team=other,
            role=roles.SERVICE_MANAGER,
        ),
        "other_manager": UserFactory(
            username="om", first_name="Oli", last_name="Mayne", team=other, role=roles.TEAM_MANAGER
        ),
        "outsider": UserFactory(username="out", first_name="Olu", last_name="Tate", team=other),
    }
    made["team"] = team
    return made


@pytest.fixture
def cp_case(people):
    case = CaseFactory(
        team=people["team"], family_name="Carter", opened_on=datetime.date(2025, 12, 1)
    )
    case.allocated_workers.add(people["worker"])
    child = MembershipFactory(case=case, start_date=datetime.date(2025, 12, 1))
    PlanFactory(case=case, child=child.person, start_date=datetime.date(2026, 1, 5))
    return case


@pytest.fixture
def cin_case(people):
    case = CaseFactory(
        team=people["team"], family_name="Hughes", opened_on=datetime.date(2025, 12, 1)
    )
    case.allocated_workers.add(people["worker"])
    MembershipFactory(case=case, start_date=datetime.date(2025, 12, 1))
    return case

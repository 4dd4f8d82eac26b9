import datetime

import pytest

from tests.factories import CaseFactory


@pytest.fixture
def case(worker):
    """An open case of the worker's team, allocated to them."""
    case = CaseFactory(team=worker.team, family_name="Carter", opened_on=datetime.date(2026, 1, 5))
    case.allocated_workers.add(worker)
    return case

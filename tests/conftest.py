import pytest

from tests.factories import PASSWORD, TeamFactory, UserFactory


@pytest.fixture
def team(db):
    return TeamFactory(name="North Assessment", code="north")


@pytest.fixture
def worker(team):
    return UserFactory(username="worker", team=team)


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def signed_in(client, worker):
    """The test client, signed in as `worker`."""
    client.force_login(worker)
    return client


def pytest_terminal_summary(terminalreporter):
    """Report the size of the service permission matrix (tests/test_service_matrix.py)."""
    lines = {
        value
        for report in terminalreporter.stats.get("passed", [])
        for name, value in getattr(report, "user_properties", ())
        if name == "service_matrix"
    }
    for line in sorted(lines):
        terminalreporter.write_line(f"service matrix: {line}")

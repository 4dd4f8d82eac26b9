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

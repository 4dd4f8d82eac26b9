import socket

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


# Tests that start processes of their own run one after another on one xdist worker
# (`make test` runs `-n 2 --dist loadgroup`), beside the rest of the suite.
# Chromium drives a live server; bin/* run; an OpenID Provider runs on Node.js.
PROCESS_FIXTURES = {"live_server", "stack", "oidc_provider"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("browser") or PROCESS_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.xdist_group("processes"))


@pytest.fixture(autouse=True)
def _export_dir(settings, tmp_path_factory):
    """Each test's chronology exports in a directory of their own, so parallel workers
    never remove or overwrite each other's files."""
    settings.CHRONOLOGY_EXPORT_DIR = tmp_path_factory.mktemp("exports")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_down(monkeypatch):
    """Celery's broker is a port nobody listens on: every send is refused. (Celery reads
    CELERY_BROKER_URL from the environment before its settings.)"""

    from safeguarding.celery import app as _celery_app

    eager = _celery_app.conf.task_always_eager

    def reset():
        _celery_app._pool = None
        _celery_app.amqp._producer_pool = None

    class Outage:
        def undo(self):
            monkeypatch.undo()
            _celery_app.conf.task_always_eager = eager
            reset()

    closed = f"redis://127.0.0.1:{_closed_port()}/0"
    monkeypatch.setenv("CELERY_BROKER_URL", closed)
    monkeypatch.setenv("CELERY_BROKER_WRITE_URL", closed)  # what publishing reads first
    _celery_app.conf.task_always_eager = False  # sent to the broker, not run here
    reset()
    outage = Outage()
    yield outage
    outage.undo()

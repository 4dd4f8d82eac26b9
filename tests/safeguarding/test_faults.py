"""The fault-injection suite's short run (`scripts/faults/run.py --short`): 50 cases
brought to their fourth default through the real visit service, with a real worker,
beat, PostgreSQL, Redis and an SMTP sink of the suite's own, while (a) Redis restarts
without persistence, (b) the worker is killed with SIGKILL, (c) every evaluation is
delivered twice to two workers, (d) two sweeps run at once. Each must end with one
escalation per case, and one in-app notification and one email per recipient.

The suite starts and stops its own servers (it needs initdb from PostgreSQL's server
package and redis-server, as CI has); it uses nothing of this test session's database
or broker. `make faults` runs the full version (docs/RELIABILITY.md).
"""

import glob
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# It starts processes of its own: it runs with the others that do, one after another on
# one xdist worker (tests/conftest.py).
pytestmark = pytest.mark.xdist_group("processes")


def _servers_missing() -> str | None:
    if not shutil.which("redis-server"):
        return "redis-server"
    if not (glob.glob("/usr/lib/postgresql/*/bin/initdb") or shutil.which("initdb")):
        return "PostgreSQL's initdb"
    return None


def test_escalations_and_notifications_happen_exactly_once_whatever_fails(tmp_path):
    missing = _servers_missing()
    if missing:
        pytest.skip(f"the fault-injection suite needs {missing}")
    run = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "faults" / "run.py"), "--short"]
        + ["--out", str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = run.communicate(timeout=15 * 60)
    except subprocess.TimeoutExpired:
        run.send_signal(signal.SIGTERM)  # it stops everything it started
        output, _ = run.communicate(timeout=120)
        pytest.fail(f"the suite did not finish in 15 minutes:\n{output[-6000:]}")
    table = tmp_path / "faults.md"
    assert table.exists(), f"the suite did not run (exit {run.returncode}):\n{output[-6000:]}"
    assert run.returncode == 0, (
        f"duplicated, missing or not settled (logs: {tmp_path / 'logs'}):\n{table.read_text()}"
    )
    os.environ.get("CI") and print(table.read_text())

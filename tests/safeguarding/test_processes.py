"""The deployment commands themselves: bin/web, bin/worker and bin/beat.

They run as real processes against the database and broker this test session
uses (PostgreSQL and Redis in CI; otherwise SQLite and the file-system broker
under a temporary VAR_DIR), with production settings: a SECRET_KEY, no
DEMO_MODE, no test settings.
"""

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

# The mark makes pytest-django create the test database the processes connect to.
pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url(settings_dict) -> str | None:
    """The session's test database as a URL, or None for SQLite (then var/ is used)."""
    if "postgresql" not in settings_dict["ENGINE"]:
        return None
    user = settings_dict.get("USER") or ""
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "localhost"
    port = settings_dict.get("PORT") or "5432"
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


class Proc:
    def __init__(self, name: str, args: list[str], env: dict, log: Path):
        self.name = name
        self.log = log
        self._log_file = log.open("wb")
        self.popen = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as one
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def terminate(self) -> None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)  # the leader shuts down its children

    def stop(self) -> None:
        self.terminate()
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait(timeout=15)
        self._log_file.close()


class Stack:
    def __init__(self, env: dict, var_dir: Path, port: int):
        self.env = env
        self.var_dir = var_dir
        self.port = port
        self.procs: dict[str, Proc] = {}

    def start(self, name: str) -> Proc:
        proc = Proc(name, [str(ROOT / "bin" / name)], self.env, self.var_dir / f"{name}.log")
        self.procs[name] = proc
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {n} ---\n{p.output()[-4000:]}" for n, p in self.procs.items())

    def wait_for(self, what: str, check, timeout: float = START_TIMEOUT, last=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            dead = [n for n, p in self.procs.items() if not p.alive()]
            if dead:
                pytest.fail(f"{', '.join(dead)} exited while waiting for {what}\n{self.logs()}")
            time.sleep(0.2)
        seen = f" (last: {last[0]})" if last else ""
        pytest.fail(f"timed out after {timeout}s waiting for {what}{seen}\n{self.logs()}")


@pytest.fixture
def stack(django_db_setup, tmp_path):
    from django.conf import settings
    from django.db import connection

    var_dir = tmp_path / "var"
    var_dir.mkdir()
    port = _free_port()
    tag = secrets.token_hex(4)

    env = {
        key: value
        for key, value in os.environ.items()
        # nothing from the test settings or the developer's demo may leak in
        if key
        not in {
            "DJANGO_SETTINGS_MODULE",
            "TESTING",
            "SECURE_COOKIES",
            "DEMO_MODE",
            "DJANGO_DEBUG",
            "DATABASE_URL",
            "CELERY_BROKER_URL",
            "VAR_DIR",
            "CELERY_TASK_ALWAYS_EAGER",
        }
    }
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
        VAR_DIR=str(var_dir),
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_WORKERS="1",
        WEB_THREADS="2",
        CELERY_CONCURRENCY="1",
        # a node name and queue of its own, so a broker shared with other
        # workers cannot take this test's task
        CELERY_HOSTNAME=f"test-{tag}@%h",
        CELERY_QUEUES=f"test-{tag}",
    )
    database_url = _database_url(connection.settings_dict)
    if database_url:
        env["DATABASE_URL"] = database_url
    if os.environ.get("CELERY_BROKER_URL"):
        env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL

    stack = Stack(env, var_dir, port)
    stack.tag = tag
    try:
        yield stack
    finally:
        for proc in stack.procs.values():
            proc.terminate()
        for proc in stack.procs.values():
            proc.stop()


def _get_healthz(port: int):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except (OSError, ValueError):
        return None


def test_web_worker_and_beat_run_from_the_deployment_scripts(stack):
    for name in ("web", "worker", "beat"):
        stack.start(name)

    # web: /healthz reaches the database and the broker
    last = []

    def healthy():
        last[:] = [_get_healthz(stack.port)]
        return last[0] and last[0][0] == 200

    stack.wait_for("/healthz to answer 200", healthy, last=last)
    body = last[0][1]
    assert (body["status"], body["database"], body["broker"]) == ("ok", "ok", "ok")
    assert {s["status"] for s in body["sweeps"].values()} == {"ok"}
    assert body["email"] == {"status": "ok", "dead_letters": 0, "overdue": 0}

    # worker: a ping sent through the broker is executed by this worker
    worker = stack.procs["worker"]
    stack.wait_for("the worker to be ready", lambda: " ready." in worker.output())
    sent = subprocess.run(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "safeguarding",
            "call",
            "safeguarding.tasks.ping",
            "--queue",
            f"test-{stack.tag}",
        ],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sent.returncode == 0, sent.stderr
    task_id = sent.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"[0-9a-f-]{36}", task_id), sent.stdout
    done = re.compile(
        rf"Task safeguarding\.tasks\.ping\[{task_id}\] succeeded in [0-9.e-]+s: 'pong'"
    )
    stack.wait_for("the worker to run the ping task", lambda: done.search(worker.output()))

    # beat: starts, keeps its schedule under VAR_DIR and stays up
    beat = stack.procs["beat"]
    stack.wait_for("beat to start", lambda: "beat: Starting..." in beat.output())
    stack.wait_for(
        "beat's schedule file",
        lambda: any(stack.var_dir.glob("celerybeat-schedule*")),
    )
    assert beat.alive(), stack.logs()
    assert "Traceback" not in stack.logs(), stack.logs()

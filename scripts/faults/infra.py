"""The processes the fault-injection suite owns: its own PostgreSQL cluster, its own
Redis, its own SMTP sink, and the project's own bin/worker and bin/beat.

Nothing here imports Django: these are plain processes, started, stopped, killed and
started again. Every one is started in a process group of its own and registered, so
that `Registry.close()` ends each of them (and removes each temporary directory) on
success, failure or Ctrl-C alike.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import redis
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


class SuiteError(RuntimeError):
    """Something the suite needs did not happen (a process did not start in time)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(what: str, check: Callable[[], object], timeout: float, every: float = 0.1):
    """Poll `check` until it returns something true, or raise after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise SuiteError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


class Proc:
    """A process in a group of its own, its output appended to a log file."""

    def __init__(self, name: str, args: list[str], *, env: dict, log: Path, cwd: Path = ROOT):
        self.name = name
        self.log = log
        self.ready_text = ""  # what its output says once it is ready, if anything
        # Output from here on: a process started again appends to the same log.
        self.offset = log.stat().st_size if log.exists() else 0
        self._log_file = log.open("ab")
        self.popen = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        with self.log.open("rb") as f:
            f.seek(self.offset)
            return f.read().decode(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the whole group (a worker's pool processes too)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill(signal.SIGKILL)  # whatever of the group is left
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)
        self._log_file.close()


class Registry:
    """Everything started, to be ended in reverse order by `close()`."""

    def __init__(self):
        self._closers: list[tuple[str, Callable[[], None]]] = []

    def add(self, name: str, closer: Callable[[], None]) -> None:
        self._closers.append((name, closer))

    def temp_dir(self, prefix: str) -> Path:
        path = Path(tempfile.mkdtemp(prefix=f"faults-{prefix}-"))
        self.add(f"remove {path}", lambda: shutil.rmtree(path, ignore_errors=True))
        return path

    def close(self) -> None:
        while self._closers:
            name, closer = self._closers.pop()
            try:
                closer()
            except Exception as exc:  # keep closing the rest
                print(f"faults: while closing ({name}): {exc}", file=sys.stderr)


# --- PostgreSQL ------------------------------------------------------------------------------


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise SuiteError("initdb not found (/usr/lib/postgresql/*/bin or PATH)")


def _version_key(path: str) -> int:
    part = Path(path).parts[-3]
    return int(part) if part.isdigit() else 0


class Postgres:
    """A cluster of the suite's own in a temporary directory: trust authentication on
    127.0.0.1 at a free port, fsync off (nothing here needs to survive a power cut, only
    the server being stopped).
    As root, it runs as the `postgres` system user, which PostgreSQL insists on."""

    def __init__(self, registry: Registry, logs: Path):
        self.bin = _pg_bin()
        self.port = free_port()
        self.dir = registry.temp_dir("pg")
        self.data = self.dir / "data"
        # The server writes its log where its user may (the temporary directory); it is
        # copied beside the other logs when the cluster is removed.
        self.log = self.dir / "postgres.log"
        registry.add(
            "keep PostgreSQL's log",
            lambda: self.log.exists() and shutil.copyfile(self.log, logs / "postgres.log"),
        )
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise SuiteError("running as root needs a 'postgres' system user") from exc
            os.chown(self.dir, account.pw_uid, account.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        conf = "\n".join(
            [
                "listen_addresses = '127.0.0.1'",
                f"port = {self.port}",
                f"unix_socket_directories = '{self.dir}'",
                # Nothing here must survive the machine losing power, so nothing is
                # flushed to disk; but a commit is written out before it is confirmed
                # (synchronous_commit stays on): stopping the server at once, as fault
                # e does, must not lose what it said was committed.
                "fsync = off",
                "full_page_writes = off",
                "max_connections = 200",
                "shared_buffers = 128MB",
                "",
            ]
        )
        with (self.data / "postgresql.conf").open("a") as f:
            f.write(conf)
        self.running = False
        registry.add("stop PostgreSQL", lambda: self.stop(mode="immediate"))
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self.as_user, str(self.bin / tool), *args],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0:
            raise SuiteError(f"{tool} failed: {done.stdout}{done.stderr}")

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        self.running = True
        wait_until("PostgreSQL to accept connections", self.ready, 30)

    def stop(self, mode: str = "immediate") -> None:
        """Stop at once ("immediate": no checkpoint, clients cut off, as a crash or a
        network partition looks to them)."""
        if not self.running:
            return
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        self.running = False

    def ready(self) -> bool:
        try:
            with psycopg.connect(self.url(), connect_timeout=2):
                return True
        except psycopg.Error:
            return False

    def execute(self, statement: sql.Composable | str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(statement)

    def create_database(self, name: str, template: str | None = None) -> None:
        self.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        if template:
            statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        else:
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        self.execute(statement)

    def drop_database(self, name: str) -> None:
        self.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# --- Redis --------------------------------------------------------------------------------


class Redis:
    """A redis-server of the suite's own with no persistence: a restart loses everything
    it held, queued messages included."""

    def __init__(self, registry: Registry, logs: Path):
        self.port = free_port()
        self.dir = registry.temp_dir("redis")
        self.logs = logs
        self.proc: Proc | None = None
        registry.add("stop Redis", self.stop)
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self) -> None:
        server = shutil.which("redis-server")
        if not server:
            raise SuiteError("redis-server not found on PATH")
        args = [
            server,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.dir),
        ]
        self.proc = Proc("redis", args, env=dict(os.environ), log=self.logs / "redis.log")
        wait_until("Redis to answer PING", self._ping, 30)

    def _ping(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(redis.RedisError):
            self.client().shutdown(nosave=True)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.popen.wait(timeout=10)
        self.proc.stop()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def queued(self, queues: list[str]) -> int:
        """Messages waiting in these queues (not yet taken by a worker)."""
        client = self.client()
        return sum(int(client.llen(name)) for name in queues)

    def unacked(self) -> int:
        """Messages a worker has taken and not yet acknowledged (kombu's hash)."""
        return int(self.client().hlen("unacked"))

    def unacked_tasks(self) -> list[str]:
        """The task names of those messages."""
        names = []
        for raw in self.client().hvals("unacked"):
            try:
                names.append(json.loads(raw)[0]["headers"]["task"])
            except (ValueError, KeyError, IndexError, TypeError):
                names.append("?")
        return names


# --- SMTP sink -------------------------------------------------------------------------------


class Sink:
    """The SMTP sink (sink.py) in a process of its own, so that stopping it makes the
    port refuse connections. It appends one JSON line per message received."""

    def __init__(self, registry: Registry, logs: Path, python: str, latency: float = 0.0):
        self.port = free_port()
        self.latency = latency
        self.logs = logs
        self.python = python
        self.proc: Proc | None = None
        self.path: Path | None = None
        registry.add("stop the SMTP sink", self.stop)

    def start(self, path: Path | None = None) -> None:
        if path is not None:
            self.path = path
        assert self.path is not None
        args = [
            self.python,
            str(HERE / "sink.py"),
            "--port",
            str(self.port),
            "--out",
            str(self.path),
            "--latency",
            str(self.latency),
        ]
        self.proc = Proc("sink", args, env=dict(os.environ), log=self.logs / "sink.log")
        wait_until("the SMTP sink to listen", self._listening, 30)

    def _listening(self) -> bool:
        if self.proc is not None and not self.proc.alive():
            raise SuiteError(f"the SMTP sink exited:\n{self.proc.output()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                return sock.recv(3) == b"220"
        except OSError:
            return False

    def received_bytes(self) -> int:
        """The size of the record so far: it grows with every message received."""
        try:
            return self.path.stat().st_size if self.path else 0
        except FileNotFoundError:
            return 0

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc = None

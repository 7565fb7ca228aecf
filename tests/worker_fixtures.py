"""A real Redis and real Celery worker processes, started the way `chatstats up` starts them.

Fixtures:
- `redis_server`: a private redis-server on a unix socket in the test's data dir; CHATSTATS_REDIS_URL
  points at it for the test (settings cache reset).
- `celery_workers`: worker-io (gevent, llm+events) and worker-db (prefork -c 1, db+index+dlq) as real
  processes over that Redis and the test's migrated central.db. Yields `CeleryWorkers`: `.app` (a Celery
  client for the test's broker), `.processes`, `.ping()`, `.kill(name, sig)` (whole process group), `.restart(name)`, `.pool_children(name)`,
  `.kill_pid(pid, sig)`, `.log(name)`.
- `celery_worker_includes`: extra task modules the workers import (`--include`); override it in a test
  module, e.g. to load `tests.worker.sample_tasks`. Default: none.
- `celery_worker_names`: which workers to start, default ("io", "db"); override to start fewer.
- `celery_io_concurrency`: worker-io's greenlets, default IO_TEST_CONCURRENCY; override (e.g. with
  specs.IO_CONCURRENCY, what `chatstats up` runs) to test at production size.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
from celery import Celery

from backend.supervisor import specs
from backend.worker.redis_server import RedisServer, start_redis

REPO_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = float(os.environ.get("CHATSTATS_TEST_START_TIMEOUT_S", "30"))  # raise on a loaded machine
STOP_TIMEOUT_S = 10.0

IO_TEST_CONCURRENCY = 20


def worker_command(name: str, includes: tuple[str, ...] = (), io_concurrency: int = IO_TEST_CONCURRENCY) -> list[str]:
    """The command line of one worker, as production runs it (worker-io with fewer greenlets by default), plus
    test-only --include modules."""
    command = specs.io_worker_argv(concurrency=io_concurrency) if name == "io" else specs.db_worker_argv()
    if includes:
        command += ["--include", ",".join(includes)]
    return command


def nodename(name: str) -> str:
    return f"{name}@{socket.gethostname()}"


@dataclass
class CeleryWorkers:
    app: Celery
    env: dict[str, str]
    log_dir: Path
    includes: tuple[str, ...] = ()
    io_concurrency: int = IO_TEST_CONCURRENCY
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    _logs: dict[str, object] = field(default_factory=dict)
    _starts: dict[str, int] = field(default_factory=dict)

    def start(self, name: str) -> subprocess.Popen:
        """Start one worker in its own process group (so kill/teardown reach its pool children)."""
        self._starts[name] = self._starts.get(name, 0) + 1
        log_file = open(self.log_dir / f"{name}-{self._starts[name]}.log", "wb")  # noqa: SIM115 - closed at stop
        self._logs[name] = log_file
        process = subprocess.Popen(worker_command(name, self.includes, self.io_concurrency), env=self.env, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        """The output of the worker's latest run."""
        return (self.log_dir / f"{name}-{self._starts.get(name, 1)}.log").read_text(errors="replace")

    def ping(self, names: tuple[str, ...] | None = None, timeout: float = 0.3) -> set[str]:
        """Which of the named workers answer a control ping now."""
        names = names or tuple(self.processes)
        replies = self.app.control.ping(destination=[nodename(n) for n in names], timeout=timeout) or []
        answered = {node for reply in replies for node in reply}
        return {n for n in names if nodename(n) in answered}

    def wait_ready(self, names: tuple[str, ...] | None = None, timeout: float = START_TIMEOUT_S) -> None:
        names = names or tuple(self.processes)
        deadline = time.monotonic() + timeout
        pending = set(names)
        while pending:
            for name in pending:
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"worker {name} exited at start ({self.processes[name].returncode}):\n"
                                       f"{self.log(name)[-3000:]}")
            pending -= self.ping(tuple(pending))
            if pending and time.monotonic() > deadline:
                logs = "\n".join(f"--- {n}\n{self.log(n)[-2000:]}" for n in pending)
                raise RuntimeError(f"workers {sorted(pending)} did not answer ping in {timeout:.0f} s\n{logs}")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the worker's whole process group (main process and pool children); SIGKILL waits."""
        process = self.processes[name]
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        if sig == signal.SIGKILL:
            process.wait(STOP_TIMEOUT_S)
            _wait_group_gone(process.pid)

    @staticmethod
    def kill_pid(pid: int, sig: int = signal.SIGKILL) -> None:
        """Signal one process (e.g. a pool child from `pool_children`) and, for SIGKILL, wait until it is gone."""
        os.kill(pid, sig)
        if sig == signal.SIGKILL:
            try:
                psutil.Process(pid).wait(STOP_TIMEOUT_S)
            except psutil.NoSuchProcess:
                pass

    def pool_children(self, name: str) -> list[int]:
        """Pids of the worker's pool processes (prefork), the ones that run tasks."""
        try:
            return [child.pid for child in psutil.Process(self.processes[name].pid).children()]
        except psutil.NoSuchProcess:
            return []

    def stop(self, name: str) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL after STOP_TIMEOUT_S; waits for the whole group."""
        self._terminate(name)
        self._reap(name, time.monotonic() + STOP_TIMEOUT_S)

    def _terminate(self, name: str) -> None:
        process = self.processes[name]
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)  # the main process's warm shutdown stops its pool
            except ProcessLookupError:
                pass

    def _reap(self, name: str, deadline: float) -> None:
        process = self.processes[name]
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        _kill_group(process.pid)
        process.wait(STOP_TIMEOUT_S)
        log_file = self._logs.pop(name, None)
        if log_file is not None:
            log_file.close()

    def restart(self, name: str) -> None:
        """Stop (if running) and start the worker again; returns when it answers ping."""
        self.stop(name)
        self.start(name)
        self.wait_ready((name,))

    def stop_all(self) -> None:
        """SIGTERM to every worker at once (shutdowns overlap), then reap each."""
        for name in self.processes:
            self._terminate(name)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for name in self.processes:
            self._reap(name, deadline)


def _group_members(pgid: int) -> list[psutil.Process]:
    members = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.status() != psutil.STATUS_ZOMBIE:
                members.append(proc)
        except (ProcessLookupError, psutil.NoSuchProcess, PermissionError):
            continue
    return members


def _wait_group_gone(pgid: int, timeout: float = STOP_TIMEOUT_S) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while (members := _group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return members


def _kill_group(pgid: int) -> None:
    if _group_members(pgid):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return
        _wait_group_gone(pgid)


@pytest.fixture
def redis_server(isolated_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    """A private redis-server for this test; CHATSTATS_REDIS_URL points at it."""
    from backend.config import reset_settings_cache

    server = start_redis(isolated_data_dir)
    monkeypatch.setenv("CHATSTATS_REDIS_URL", server.url)
    reset_settings_cache()
    try:
        yield server
    finally:
        server.stop()
        reset_settings_cache()


@pytest.fixture
def celery_worker_includes() -> tuple[str, ...]:
    """Extra task modules for the workers (override in a test module: test tasks live under tests/)."""
    return ()


@pytest.fixture
def celery_worker_names() -> tuple[str, ...]:
    """Which workers to start (override to start fewer): "io" (gevent) and/or "db" (prefork -c 1)."""
    return ("io", "db")


@pytest.fixture
def celery_io_concurrency() -> int:
    """worker-io's greenlets (override in a test module; production runs specs.IO_CONCURRENCY)."""
    return IO_TEST_CONCURRENCY


@pytest.fixture
def celery_workers(
    redis_server: RedisServer,
    migrated_engine,
    isolated_data_dir: Path,
    tmp_path: Path,
    celery_worker_includes: tuple[str, ...],
    celery_worker_names: tuple[str, ...],
    celery_io_concurrency: int,
) -> Iterator[CeleryWorkers]:
    """Real worker processes over the test's Redis and central.db; all stopped (and checked gone) after."""
    from backend.worker.celery_app import create_celery

    env = dict(os.environ)
    env["CHATSTATS_DATA_DIR"] = str(isolated_data_dir)
    env["CHATSTATS_REDIS_URL"] = redis_server.url
    # LiteLLM loads in the first task that needs it: a warm-up thread beside the tests' tasks would take CPU
    # from what they time (the default, "background", runs under `chatstats up` in tests/supervisor)
    env.setdefault("CHATSTATS_GATEWAY_WARMUP", "off")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    log_dir = tmp_path / "worker-logs"
    log_dir.mkdir(exist_ok=True)
    app = create_celery()  # built now: its broker is this test's Redis
    workers = CeleryWorkers(app=app, env=env, log_dir=log_dir, includes=tuple(celery_worker_includes),
                            io_concurrency=celery_io_concurrency)
    try:
        for name in celery_worker_names:
            workers.start(name)
        workers.wait_ready()
        yield workers
    finally:
        pgids = [p.pid for p in workers.processes.values()]
        workers.stop_all()
        app.close()
        leftovers = [p.pid for pgid in pgids for p in _group_members(pgid)]
        assert not leftovers, f"worker processes left running: {leftovers}"

"""`chatstats up` as a real process: its ready line, its descendants, and a clean stop."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

# A status line ends each wait (or `up` exiting does, which puts None in the queue); this is only a backstop
# under pytest's own timeout. `up` itself runs with no start limit (CHATSTATS_START_TIMEOUT_S=0), so how
# loaded the machine is decides how long a start takes, never whether it passes.
READY_TIMEOUT_S = 280.0
UP = [sys.executable, "-m", "backend.cli.main", "up"]
DEMO = ["--demo", "--demo-messages", "300", "--demo-rate", "2"]


@dataclass
class Up:
    process: subprocess.Popen
    log_path: Path
    lines: queue.Queue = field(default_factory=queue.Queue)  # stdout lines, parsed
    seen: set[int] = field(default_factory=set)  # every descendant pid ever observed

    def next_event(self, timeout: float) -> dict:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no status line within {timeout:.0f} s; log:\n{self.log()}") from None
        if line is None:
            raise AssertionError(f"up exited ({self.process.poll()}) without a status line; log:\n{self.log()}")
        return line

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def descendants(self) -> dict[int, str]:
        """pid -> command line of every process below `up`, noted in `seen`."""
        found = {}
        try:
            for child in psutil.Process(self.process.pid).children(recursive=True):
                try:
                    found[child.pid] = " ".join(child.cmdline())
                except psutil.Error:
                    continue
        except psutil.NoSuchProcess:
            pass
        self.seen.update(found)
        return found

    def child_pid(self, marker: str) -> int | None:
        return next((pid for pid, cmd in self.descendants().items() if marker in cmd), None)

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"up still running after {timeout:.0f} s; log:\n{self.log()}") from None

    def survivors(self) -> list[int]:
        alive = []
        for pid in self.seen:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                continue
        return alive


def _read_stdout(up: Up) -> None:
    for raw in up.process.stdout:
        up.lines.put(json.loads(raw))  # anything but JSON on stdout fails the test here
    up.lines.put(None)


@pytest.fixture
def start_up(tmp_path: Path) -> Iterator:
    """start_up(*args) -> Up, with stderr in a file; whatever is left is killed at teardown."""
    started: list[Up] = []

    def start(*args: str) -> Up:
        log_path = tmp_path / f"up-{len(started)}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen([*UP, *args], stdout=subprocess.PIPE, stderr=log, text=True,
                                       env={"CHATSTATS_START_TIMEOUT_S": "0", **os.environ})
        up = Up(process, log_path)
        threading.Thread(target=_read_stdout, args=(up,), daemon=True).start()
        started.append(up)
        return up

    yield start
    for up in started:
        if up.process.poll() is None:
            up.process.send_signal(signal.SIGTERM)
            try:
                up.process.wait(15)
            except subprocess.TimeoutExpired:
                up.process.kill()
        for pid in up.survivors():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def wait_for(predicate, timeout: float, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def get(url: str, token: str, path: str) -> httpx.Response:
    return httpx.get(f"{url}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=5, trust_env=False)

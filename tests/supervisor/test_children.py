"""Backoff, ready-line parsing, parent watching, and a child that fails at start (real processes)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import psutil
import pytest

from backend.supervisor.children import Backoff, ChildSpec
from backend.supervisor.exceptions import ChildFailedToStart
from backend.supervisor.ready import parse_ready_line
from backend.supervisor.specs import Supervised
from backend.supervisor.supervisor import ParentWatch, Supervisor


def test_backoff_doubles_to_the_cap_and_resets_after_a_healthy_minute():
    backoff = Backoff()
    assert [backoff.next_delay(uptime=1) for _ in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert backoff.next_delay(uptime=61) == 0.5
    assert backoff.next_delay(uptime=5) == 1


def test_parse_ready_line():
    line = '{"event": "ready", "url": "http://127.0.0.1:5", "token": "t"}'
    assert parse_ready_line(line) == {"event": "ready", "url": "http://127.0.0.1:5", "token": "t"}
    assert parse_ready_line('{"event": "imported"}') is None
    assert parse_ready_line("INFO uvicorn: started") is None
    assert parse_ready_line("{not json") is None


def test_parent_watch_counts_a_zombie_as_dead():
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    watch = ParentWatch(parent.pid)
    assert watch.alive()
    parent.kill()
    try:
        deadline = time.monotonic() + 5  # SIGKILL is asynchronous: wait until it is a zombie (not reaped)
        while psutil.Process(parent.pid).status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not ParentWatch(parent.pid).alive()  # killed, not yet reaped
    finally:
        parent.wait()
    assert not ParentWatch(parent.pid).alive()


def _supervised(name: str, code: str, *, check=lambda child: True, gate: bool = False) -> Supervised:
    return Supervised(ChildSpec(name, [sys.executable, "-c", code]), check=check, gate=gate)


def test_a_child_that_dies_at_start_fails_clearly_and_stops_the_others(capfd):
    sleeper = _supervised("sleeper", "import time; time.sleep(60)", gate=True)
    broken = _supervised("broken", "import sys; print('cannot bind: in use', flush=True); sys.exit(3)",
                         check=lambda child: False)
    supervisor = Supervisor([sleeper, broken], {}, stop=threading.Event(), emit=lambda event: None)
    with pytest.raises(ChildFailedToStart) as failure:
        supervisor.start()
    assert "broken exited with code 3" in failure.value.message
    assert "cannot bind: in use" in failure.value.message
    assert supervisor.child("sleeper").exit_code() is not None  # stopped, not left behind
    assert "broken | cannot bind: in use" in capfd.readouterr().err

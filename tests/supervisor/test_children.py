"""Backoff, ready-line parsing, parent watching, and a child that fails at start (real processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import psutil
import pytest

from backend.supervisor.children import Backoff, Child, ChildSpec
from backend.supervisor.exceptions import ChildFailedToStart
from backend.supervisor.ready import parse_ready_line
from backend.supervisor.specs import Supervised
from backend.supervisor.supervisor import ParentWatch, Supervisor
from tests.waiting import wait_until


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


def test_without_a_start_limit_a_slow_child_is_waited_for_and_with_one_it_fails_naming_the_setting(tmp_path):
    flag = tmp_path / "healthy"
    # healthy once it has written its flag, which it does only after the limit below has passed
    slow = _supervised("slow", f"import time, pathlib; time.sleep(1.5); pathlib.Path({str(flag)!r}).touch(); "
                               "time.sleep(60)", check=lambda child: flag.exists())
    limited = Supervisor([slow], {}, stop=threading.Event(), emit=lambda event: None, start_timeout=0.5)
    with pytest.raises(ChildFailedToStart) as failure:
        limited.start()
    assert "slow did not become healthy within" in failure.value.message
    assert "CHATSTATS_START_TIMEOUT_S" in failure.value.message
    assert not limited.child("slow").running()  # what started was stopped
    unlimited = Supervisor([slow], {}, stop=threading.Event(), emit=lambda event: None, start_timeout=None)
    try:
        assert unlimited.start() is True and flag.exists()
    finally:
        unlimited.stop()


def test_workers_and_beat_are_niced_and_the_api_is_not(tmp_path):
    from backend.supervisor.specs import WORKER_NICENESS, supervised_children

    children = {item.spec.name: item.spec for item in supervised_children(tmp_path, redis=None, pinger=None)}
    assert children["api"].niceness == 0
    assert WORKER_NICENESS > 0
    assert {children[name].niceness for name in ("worker-io", "worker-db", "beat")} == {WORKER_NICENESS}
    niced = Child(ChildSpec("niced", [sys.executable, "-c", "import os, time; print(os.nice(0), flush=True); "
                                      "time.sleep(60)"], niceness=3))
    niced.start({})
    try:
        assert wait_until(lambda: niced.tail, timeout=60, what="the child's first line")
        assert int(niced.tail[-1]) == os.nice(0) + 3
    finally:
        niced.kill_group()

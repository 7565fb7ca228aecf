"""`chatstats up` end to end: real redis-server, API, Celery workers and beat."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from backend.supervisor.specs import WORKER_NICENESS
from tests.supervisor.conftest import DEMO, READY_TIMEOUT_S, get, wait_for

CHILD_MARKERS = {
    "redis": "redis-server",
    "api": "backend.cli.main serve",
    "worker-io": "-n io@%h",
    "worker-db": "-n db@%h",
    "beat": "celerybeat-schedule",
}


def test_up_serves_restarts_a_killed_api_and_stops_cleanly(start_up, isolated_data_dir):
    up = start_up(*DEMO)
    ready = up.next_event(READY_TIMEOUT_S)
    assert set(ready) == {"event", "url", "token", "pid", "app_url"}
    assert ready["event"] == "ready" and ready["pid"] == up.process.pid
    assert ready["url"].startswith("http://127.0.0.1:")
    url, token = ready["url"], ready["token"]
    assert ready["app_url"] == f"{url}/app/#token={token}"  # the token in the fragment, never sent over HTTP
    page = httpx.get(f"{url}/app/", timeout=5, trust_env=False)
    assert page.status_code == 200 and "<html" in page.text.lower()

    assert get(url, token, "/api/health").status_code == 200
    chats = get(url, token, "/api/chats")
    assert chats.status_code == 200 and chats.json()["chats"], chats.text  # the demo source was imported
    assert httpx.get(f"{url}/api/chats", timeout=5, trust_env=False).status_code == 401

    commands = up.descendants()
    for name, marker in CHILD_MARKERS.items():
        assert any(marker in cmd for cmd in commands.values()), f"no {name} among {commands}"
    nice = {name: psutil.Process(pid).nice() for pid, cmd in commands.items()
            for name, marker in CHILD_MARKERS.items() if marker in cmd and "--multiprocessing-fork" not in cmd}
    base = psutil.Process().nice()
    assert nice["api"] == base and nice["redis"] == base  # the API keeps the CPU it needs...
    assert nice["worker-io"] == nice["worker-db"] == nice["beat"] == min(base + WORKER_NICENESS, 19)  # ...workers yield it
    log = up.log_path.read_text(errors="replace")
    assert log.splitlines()[0] == "ChatStats is starting..."  # said at once, before anything is imported
    assert "Memory overcommit must be enabled" not in log  # redis' warning, said once in our words if at all
    assert "superuser privileges" not in log  # Celery's root warning: `up` says it once, workers do not
    socket_path = isolated_data_dir / "redis" / "redis.sock"
    assert socket_path.exists()
    second = start_up(*DEMO)  # same data dir: refused, and the first keeps its socket
    assert second.wait_exit(30) == 2 and "already_running" in second.log()
    assert socket_path.exists()

    old_api = up.child_pid(CHILD_MARKERS["api"])
    subprocess.run(["kill", "-9", str(old_api)], check=True)
    restarted = up.next_event(READY_TIMEOUT_S)  # a restart under load can take as long as a start
    assert restarted == {"event": "restarted", "child": "api"}
    new_api = up.child_pid(CHILD_MARKERS["api"])
    assert new_api is not None and new_api != old_api
    assert get(url, token, "/api/health").status_code == 200  # same URL, same token
    assert get(url, token, "/api/chats").status_code == 200

    up.descendants()  # note the restarted API's pids too
    started = time.monotonic()
    up.process.send_signal(signal.SIGTERM)
    assert up.wait_exit(15) == 0
    assert time.monotonic() - started < 15
    assert wait_for(lambda: not up.survivors(), 2), up.survivors()
    assert len(up.seen) >= len(CHILD_MARKERS) + 1  # + the restarted API
    assert not socket_path.exists()
    assert up.lines.get(timeout=5) is None  # nothing else on stdout: ready, restarted, end
    assert token not in up.log_path.read_text(errors="replace")  # stderr is a log: the token travels on stdout only


def test_up_exits_when_its_parent_dies(start_up):
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        up = start_up(*DEMO, "--parent-pid", str(parent.pid))
        assert up.next_event(READY_TIMEOUT_S)["event"] == "ready"
        assert len(up.descendants()) >= len(CHILD_MARKERS)
        parent.kill()  # left unreaped for now: a zombie parent counts as dead
        started = time.monotonic()
        assert up.wait_exit(5) == 0
        assert time.monotonic() - started < 5
        assert not up.survivors()
    finally:
        parent.kill()
        parent.wait()


def test_up_without_a_chat_db_says_how_to_use_demo_data(start_up):
    up = start_up()  # conftest points CHATSTATS_SOURCE_CHAT_DB at a missing file
    assert up.wait_exit(60) == 2
    log = up.log()
    assert "source_database_missing" in log and "chatstats up --demo" in log
    assert up.lines.get(timeout=5) is None


def test_up_with_an_unreachable_redis_fails_clearly(start_up, monkeypatch, tmp_path):
    monkeypatch.setenv("CHATSTATS_REDIS_URL", f"unix://{tmp_path}/nothing.sock")
    up = start_up(*DEMO)
    assert up.wait_exit(60) == 2
    assert "child_failed_to_start" in up.log() and "No Redis answers" in up.log()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only (see children.py)")
def test_a_sigkilled_up_leaves_no_orphans(start_up):
    up = start_up(*DEMO)
    assert up.next_event(READY_TIMEOUT_S)["event"] == "ready"
    assert len(up.descendants()) >= len(CHILD_MARKERS)
    up.process.kill()
    up.wait_exit(5)
    assert wait_for(lambda: not up.survivors(), 10), up.survivors()

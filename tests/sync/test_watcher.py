from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import psutil

from backend.config import get_settings
from backend.source.demo.live import LiveSourceWriter
from backend.sync.watcher import SourceWatcher
from tests.mirror_fixtures import fresh_import_state, mirror_state


def _wait_for(predicate, timeout: float = 5.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.01)
    raise AssertionError("condition not reached in time")


def _mirrored(guid: str) -> bool:
    conn = sqlite3.connect(get_settings().central_db_path)
    try:
        return conn.execute("SELECT 1 FROM messages WHERE guid = ?", (guid,)).fetchone() is not None
    finally:
        conn.close()


def test_file_events_sync_a_message_within_milliseconds(live_sync, imported):
    watcher = SourceWatcher(live_sync, safety_interval_s=30.0)  # the safety check cannot be what syncs
    watcher.start()
    try:
        _wait_for(lambda: live_sync.passes >= 1)
        with LiveSourceWriter(imported / "chat.db", seed=8) as writer:
            guid = writer.write_message(text="evented")
            elapsed = _wait_for(lambda: _mirrored(guid), timeout=5)
        assert elapsed < 1.0 and watcher.wakeups >= 1
    finally:
        watcher.stop()
    assert not watcher.running


def test_missed_events_are_caught_by_the_safety_check(live_sync, imported):
    watcher = SourceWatcher(live_sync, safety_interval_s=0.2, use_events=False)
    watcher.start()
    try:
        _wait_for(lambda: live_sync.passes >= 1)
        with LiveSourceWriter(imported / "chat.db", seed=9) as writer:
            guid = writer.write_message(text="no event for this one")
            _wait_for(lambda: _mirrored(guid), timeout=3)
        assert watcher.safety_syncs >= 1 and watcher.wakeups == 0
    finally:
        watcher.stop()


def test_idle_watcher_costs_almost_no_cpu(live_sync):
    watcher = SourceWatcher(live_sync, safety_interval_s=0.5)
    watcher.start()
    try:
        _wait_for(lambda: live_sync.passes >= 1)
        process = psutil.Process()
        before = process.cpu_times()
        time.sleep(2.0)
        after = process.cpu_times()
        used = (after.user + after.system) - (before.user + before.system)
        assert used / 2.0 < 0.05  # generous bound for a shared CI core; bench/live_latency.py reports the figure
    finally:
        watcher.stop()


SYNC_FOREVER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from backend.config import get_settings
    from backend.db.engine import get_engine
    from backend.live.hub import MessageHub
    from backend.sync.service import LiveSync
    source = Path(sys.argv[1])
    settings = get_settings()
    sync = LiveSync(settings, get_engine(settings.central_db_path), source=source / "chat.db",
                    addressbook_dir=source / "AddressBook", hub=MessageHub())
    print("ready", flush=True)
    while True:
        sync.run_pass()
""")


def test_kill_9_in_the_middle_of_a_burst_then_restart_equals_a_full_import(imported, tmp_path):
    env = {**os.environ, "CHATSTATS_LOG_LEVEL": "WARNING"}
    child = subprocess.Popen([sys.executable, "-c", SYNC_FOREVER, str(imported)], env=env,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        with LiveSourceWriter(imported / "chat.db", seed=10) as writer:
            for _ in range(6):
                writer.write_burst(400)
                writer.step()
            time.sleep(0.05)
            child.send_signal(signal.SIGKILL)  # mid-pass, most likely inside a write transaction
            child.wait(5)
            writer.write_burst(100)
    finally:
        if child.poll() is None:
            child.kill()
    from backend.db.engine import get_engine
    from backend.live.hub import MessageHub
    from backend.sync.service import LiveSync

    settings = get_settings()
    restarted = LiveSync(settings, get_engine(settings.central_db_path), source=imported / "chat.db",
                         addressbook_dir=imported / "AddressBook", hub=MessageHub())
    restarted.run_pass()
    conn = sqlite3.connect(settings.central_db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    guids = [r[0] for r in conn.execute("SELECT guid FROM messages")]
    assert len(guids) == len(set(guids))
    state = mirror_state(settings.central_db_path)
    fresh = fresh_import_state(imported, tmp_path)
    deleted = {g for (g,) in conn.execute("SELECT guid FROM messages WHERE deleted_at IS NOT NULL")}
    assert set(state["messages"]) == set(fresh["messages"])
    assert state["messages"] == fresh["messages"] and state["reactions"] == fresh["reactions"]
    if not deleted:
        assert state["conversations"] == fresh["conversations"]

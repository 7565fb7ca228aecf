"""A commit published after the pass its file event woke (the -shm write raises no event) is synced by
the settle checks within tens of milliseconds, not by the safety check seconds later: the live-latency
bench's 1-in-200 late message."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

from backend.sync.watcher import SETTLE_S, SourceWatcher
from tests.waiting import wait_until


class ScriptedSync:
    """Stands in for LiveSync: a signature the test moves, and passes it counts."""

    def __init__(self) -> None:
        self.source = Path("/nonexistent/chat.db")
        self.signature = 0
        self.passes = 0
        self.lock = threading.Lock()

    def source_signature(self) -> int:
        return self.signature

    def run_pass(self) -> SimpleNamespace:
        with self.lock:
            self.passes += 1
        return SimpleNamespace(new_messages=0, updated_messages=0, seconds=0.0)


def test_a_change_without_a_file_event_right_after_a_pass_is_synced_by_the_settle_checks():
    sync = ScriptedSync()
    watcher = SourceWatcher(sync, safety_interval_s=60.0, use_events=False)  # the safety check cannot do it
    watcher.start()
    try:
        wait_until(lambda: sync.passes == 1, timeout=10, what="the first pass")
        sync.signature = 1  # the WAL write: its file event wakes a pass
        watcher.poke()
        wait_until(lambda: sync.passes == 2, timeout=10, what="the pass the event woke")
        sync.signature = 2  # the commit is published in -shm afterwards: no file event
        wait_until(lambda: sync.passes == 3, timeout=SETTLE_S * 10, what="a settle pass")
        assert (watcher.settle_syncs, watcher.safety_syncs) == (1, 0)
    finally:
        watcher.stop()
    assert not watcher.running

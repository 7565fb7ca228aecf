"""The thread that keeps the mirror live: file-system events, plus a safety check that catches what they miss.

watchdog (FSEvents on macOS, inotify on Linux) watches the chat.db folder and the AddressBook
folder; any event there wakes the sync thread. Events get lost and Messages replaces its WAL file,
so every `safety_interval_s` the thread also compares the identity, size and mtime of chat.db and
its WAL with the last pass and syncs when they moved. Bursts coalesce: events that arrive while a
pass runs lead to one more pass, not one per event. Never runs on the event loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from backend.sync.service import LiveSync

log = logging.getLogger(__name__)

NOTABLE_PASS_MESSAGES = 100

COALESCE_S = 0.002  # let the rest of a commit's file events land before reading
# After a pass a file event started, the signature is checked again every SETTLE_POLL_S for SETTLE_S.
# A commit publishes itself last by writing the wal-index in -shm, which is memory-mapped: that write
# raises no file event. When the event of the WAL write woke a pass that read before the commit was
# published, nothing else would wake the next one but the safety check (2 s later): the live-latency
# bench saw 1 message in 200 arrive that late. The settle checks catch it within tens of milliseconds.
SETTLE_S = 0.5
SETTLE_POLL_S = 0.02


DATABASE_EVENTS = frozenset({"modified", "created", "moved"})  # written, or replaced by a new file
WAL_EVENTS = frozenset({"modified"})  # written; a reader creating or removing an empty WAL is not a write


class _Wake(FileSystemEventHandler):
    """Wakes the sync when a watched database or its WAL is written.

    Readers (our own passes included) only open files, touch the -shm index, and may create and remove
    an empty -wal when nobody else holds the database open: none of that wakes us, or each pass
    would wake the next.
    """

    def __init__(self, wake: Callable[[], None], *, databases: frozenset[str] = frozenset(),
                 suffix: str | None = None) -> None:
        self._wake = wake
        self._databases = databases
        self._suffix = suffix

    def _is_database(self, name: str) -> bool:
        return name in self._databases or (self._suffix is not None and name.endswith(self._suffix))

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        for path in (event.src_path, getattr(event, "dest_path", "")):
            name = Path(str(path)).name
            if not name:
                continue
            if self._is_database(name) and event.event_type in DATABASE_EVENTS:
                self._wake()
                return
            if name.endswith("-wal") and self._is_database(name[:-4]) and event.event_type in WAL_EVENTS:
                self._wake()
                return


class SourceWatcher:
    def __init__(self, sync: LiveSync, *, safety_interval_s: float = 2.0, use_events: bool = True) -> None:
        self.sync = sync
        self.safety_interval_s = safety_interval_s
        self.use_events = use_events
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: BaseObserver | None = None
        self._signature: tuple | None = None
        self._contacts_dirty = False
        self.wakeups = 0
        self.safety_syncs = 0
        self.settle_syncs = 0
        self._settle_until = 0.0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.use_events:
            self._start_observer()
        self._thread = threading.Thread(target=self._run, name="live-sync", daemon=True)
        self._thread.start()

    def _start_observer(self) -> None:
        source = self.sync.source
        observer = Observer()
        observer.schedule(_Wake(self._wake.set, databases=frozenset({source.name})), str(source.parent),
                          recursive=False)
        book = self.sync.addressbook_dir
        if book is not None and Path(book).is_dir():
            observer.schedule(_Wake(self._on_contacts_event, suffix=".abcddb"), str(Path(book).resolve()),
                              recursive=True)
        observer.daemon = True
        observer.start()
        self._observer = observer

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)
        if self._thread is not None:
            self._thread.join(timeout)

    def _on_contacts_event(self) -> None:
        self._contacts_dirty = True
        self._wake.set()

    def _contacts_event(self) -> bool:
        dirty, self._contacts_dirty = self._contacts_dirty, False
        return dirty

    def _run(self) -> None:
        self._sync_once()  # catch up with whatever happened while we were not running
        while not self._stop.is_set():
            settling = time.monotonic() < self._settle_until
            woke = self._wake.wait(SETTLE_POLL_S if settling else self.safety_interval_s)
            if self._stop.is_set():
                break
            if woke:
                time.sleep(COALESCE_S)
                self._wake.clear()
                if self.sync.source_signature() != self._signature or self._contacts_event():
                    self.wakeups += 1
                    self._sync_once()
                    self._settle_until = time.monotonic() + SETTLE_S
            elif self.sync.source_signature() != self._signature:
                if settling:
                    self.settle_syncs += 1
                else:
                    self.safety_syncs += 1
                self._sync_once()

    def _sync_once(self) -> None:
        signature = self.sync.source_signature()
        try:
            result = self.sync.run_pass()
        except Exception:
            log.exception("live sync pass failed; retrying on the next change or safety check")
            time.sleep(min(self.safety_interval_s, 1.0))
            return
        self._signature = signature
        if result.new_messages or result.updated_messages:
            # a pass per arriving message is routine (DEBUG); a catch-up or a slow pass is worth a line
            notable = result.new_messages + result.updated_messages >= NOTABLE_PASS_MESSAGES or result.seconds >= 1.0
            log.log(logging.INFO if notable else logging.DEBUG, "synced %d new, %d changed messages in %.1f ms",
                    result.new_messages, result.updated_messages, result.seconds * 1000)

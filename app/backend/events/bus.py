"""The EventBus: outbox rows relayed to a Redis stream, consumed by handlers through a consumer group.

Delivery is at least once: a relay that crashes between XADD and marking the row re-sends it, and a
consumer that crashes before XACK has its entries re-claimed by another. Handlers are idempotent.
The outbox in SQLite is the truth; a wiped Redis only means the relay sends again what is unmarked
(and sweepers re-derive work from SQLite state).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import redis
from sqlalchemy import Engine

from backend.db.clock import now_ms
from backend.db.session import run_write, session_scope
from backend.events import outbox
from backend.events.handlers import dispatch
from backend.events.types import MalformedEvent
from backend.worker import failures, queues, task_refs

log = logging.getLogger(__name__)

STREAM = "chatstats:events"
GROUP = "handlers"
MAXLEN = 100_000
RELAY_LOCK = "chatstats:relay:lock"
CLAIM_IDLE_MS = 30_000
RELAY_BATCH = 1_000


@lru_cache(maxsize=8)
def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)


def relay_pending(engine: Engine, client: redis.Redis, *, limit: int = RELAY_BATCH) -> int:
    """XADD unrelayed outbox rows (oldest first), then mark them relayed. Returns how many were sent."""
    lock = client.lock(RELAY_LOCK, timeout=10, blocking_timeout=2)
    if not lock.acquire():
        return 0
    try:
        sent = 0
        while True:
            with session_scope(engine) as conn:
                rows = outbox.list_unrelayed(conn, limit=limit)
            if not rows:
                return sent
            pipe = client.pipeline(transaction=False)
            for row in rows:
                pipe.xadd(STREAM, {"outbox_id": row.id, "name": row.name, "payload": json.dumps(row.payload),
                                   "created_at": row.created_at}, maxlen=MAXLEN, approximate=True)
            pipe.execute()
            ids = [row.id for row in rows]
            run_write(lambda conn: outbox.mark_relayed(conn, ids, at=now_ms()), engine=engine)  # noqa: B023 - called within this iteration
            sent += len(rows)
            if len(rows) < limit:
                return sent
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            pass


class OutboxRelay:
    """A thread that relays soon after commits (`wake()`) and sweeps every `interval_s` for leftovers."""

    def __init__(self, engine: Engine, url: str, *, interval_s: float = 1.0) -> None:
        self.engine = engine
        self.client = redis_client(url)
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self.relayed = 0
        self.last_error: str | None = None

    def start(self) -> OutboxRelay:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            try:
                self.relayed += relay_pending(self.engine, self.client)
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - Redis down: retry on the next wake or sweep
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("outbox relay failed (will retry): %s", self.last_error)
                time.sleep(min(self.interval_s, 1.0))


class EventConsumer:
    """Reads the stream through the consumer group and runs the registered handlers.

    Runs in a worker process (a thread, or a greenlet under gevent). Entries left pending by a
    consumer that died are re-claimed after CLAIM_IDLE_MS.
    """

    def __init__(self, engine: Engine, url: str, *, name: str | None = None, block_ms: int = 1_000,
                 claim_idle_ms: int = CLAIM_IDLE_MS) -> None:
        self.engine = engine
        self.client = redis_client(url)
        self.name = name or f"{socket.gethostname()}-{threading.get_ident()}"
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self._stop = threading.Event()
        self.handled = 0
        self.on_handled: Callable[[dict[str, Any]], None] | None = None

    def ensure_group(self) -> None:
        try:
            self.client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.ensure_group()
                self.run_once()
            except redis.exceptions.RedisError as exc:  # Redis restarted or wiped: recreate and go on
                log.warning("event consumer: %s; retrying", exc)
                time.sleep(0.5)

    def run_once(self) -> int:
        handled = 0
        _next, claimed, *_ = self.client.xautoclaim(  # type: ignore[misc]  # redis-py: sync-or-async reply type
            STREAM, GROUP, self.name, self.claim_idle_ms, "0-0", count=100)
        handled += self._handle(claimed)
        batches = self.client.xreadgroup(GROUP, self.name, {STREAM: ">"}, count=100, block=self.block_ms)
        for _stream, entries in batches or []:  # type: ignore[union-attr]  # redis-py types its sync client's replies as sync-or-async
            handled += self._handle(entries)
        return handled

    def _handle(self, entries: list[tuple[Any, dict[Any, Any]]]) -> int:
        done = 0
        for entry_id, fields in entries:
            if not fields:  # trimmed away while pending
                self.client.xack(STREAM, GROUP, entry_id)
                continue
            event = decode_entry(fields)
            try:
                dispatch(str(event.get("name")), event.get("payload"), outbox_id=outbox_id_of(event))
            except MalformedEvent as exc:  # no redelivery can help: recorded for good, then acknowledged
                self._record_malformed(event, exc)
                self.client.xack(STREAM, GROUP, entry_id)
                continue
            except Exception:
                log.exception("handler of %s (outbox %s) failed; it will be retried", event.get("name"),
                              event.get("outbox_id"))
                continue
            self.client.xack(STREAM, GROUP, entry_id)
            done += 1
            self.handled += 1
            if self.on_handled is not None:
                self.on_handled(event)
        return done

    def _record_malformed(self, event: dict[str, Any], exc: MalformedEvent) -> None:
        """In failed_tasks as the task that dispatches one event (abandoned at once; an admin retry re-sends it
        to a worker, e.g. once a newer version knows the event). A ledger that cannot be written raises, and the
        entry stays pending for a later delivery instead of being lost."""
        outbox_id = outbox_id_of(event)
        row = failures.record_failure(
            task_id=f"outbox-{outbox_id}", task_name=task_refs.DISPATCH_EVENT.name, queue=queues.EVENTS,
            args=task_refs.DISPATCH_EVENT.message(str(event.get("name")), event.get("payload"), outbox_id)[0],
            kwargs={}, exc=exc, permanent=True, engine=self.engine)
        log.error("event %s (outbox %s) is malformed, recorded as failed task %s: %s", event.get("name"),
                  outbox_id, row["id"], exc.message)


def decode_entry(fields: dict[Any, Any]) -> dict[str, Any]:
    """A stream entry as text, its payload parsed when it is JSON (left as text when not: dispatch rejects it)."""
    event: dict[str, Any] = {
        (k.decode(errors="replace") if isinstance(k, bytes) else str(k)):
        (v.decode(errors="replace") if isinstance(v, bytes) else v) for k, v in fields.items()}
    try:
        event["payload"] = json.loads(event["payload"])
    except (KeyError, TypeError, ValueError):
        pass
    return event


def outbox_id_of(event: dict[str, Any]) -> int:
    try:
        return int(event.get("outbox_id", 0))
    except (TypeError, ValueError):
        return 0

"""Server-sent event streams over the hub: snapshot or replay first, then live events, with ids.

Every event carries `id:` (its event_outbox id). A client that reconnects with Last-Event-ID gets
what it missed from the database, then the live tail, with nothing twice: the subscription is
opened before the database is read, and live events at or below what was sent are skipped.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from backend.db.session import session_scope
from backend.events import outbox
from backend.live.hub import RESYNC, HubEvent, MessageHub

HEARTBEAT_S = 15.0  # the response sends a comment line this often
REPLAY_LIMIT = 5_000
BATCH = 1_000  # live events shaped together when a burst queues up
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


Shaped = list[tuple[HubEvent, dict[str, Any]]]


@dataclass(frozen=True)
class StreamSpec:
    """What one stream carries: which events, how a batch of them becomes frames, what a new client sees first.

    `shape` gets events in id order and returns (event, data) pairs to send, in id order; it may merge
    events (a chat touched 500 times in a burst is sent once, with the last of their ids) or drop them.
    Both callables run in a worker thread.
    """

    names: tuple[str, ...]
    accepts: Callable[[HubEvent], bool]
    shape: Callable[[Engine, list[HubEvent]], Shaped]
    snapshot: Callable[[Engine], dict[str, Any]]


def _frame(event: str, data: Any, event_id: int | None = None) -> dict[str, str]:
    frame = {"event": event, "data": json.dumps(data, separators=(",", ":"), default=str)}
    if event_id is not None:
        frame["id"] = str(event_id)
    return frame


def _replay(engine: Engine, spec: StreamSpec, after_id: int) -> tuple[list[HubEvent], int, bool]:
    """(events for this stream after `after_id`, the outbox id they bring us to, more pages?)."""
    with session_scope(engine) as conn:
        stored = outbox.list_after(conn, after_id=after_id, names=spec.names, limit=REPLAY_LIMIT)
        latest = outbox.latest_id(conn)
    events = [HubEvent(e.id, e.name, e.payload) for e in stored]
    more = len(stored) == REPLAY_LIMIT
    return [e for e in events if spec.accepts(e)], (stored[-1].id if more else latest), more


def _snapshot(engine: Engine, spec: StreamSpec) -> tuple[dict[str, Any], int]:
    with session_scope(engine) as conn:
        latest = outbox.latest_id(conn)
    return spec.snapshot(engine), latest


async def event_stream(
    *, engine: Engine, hub: MessageHub, spec: StreamSpec, last_event_id: int | None,
) -> AsyncIterator[dict[str, str]]:
    """Snapshot (or replay after Last-Event-ID), then live events. Heartbeats come from the response."""
    subscription = hub.subscribe(spec.accepts)
    sent = 0

    async def catch_up(after_id: int) -> AsyncIterator[dict[str, str]]:
        nonlocal sent
        sent = after_id
        while True:  # page through the outbox until caught up
            events, caught_up_to, more = await run_in_threadpool(_replay, engine, spec, sent)
            for start in range(0, len(events), BATCH):
                for event, data in await run_in_threadpool(spec.shape, engine, events[start:start + BATCH]):
                    yield _frame(event.name, data, event.id)
            sent = max(sent, caught_up_to)
            if not more:
                return

    try:
        if last_event_id is None:
            data, sent = await run_in_threadpool(_snapshot, engine, spec)
            yield _frame("snapshot", data, sent)
        else:
            async for frame in catch_up(last_event_id):
                yield frame
        while True:
            batch = [await subscription.queue.get()]
            while len(batch) < BATCH and not subscription.queue.empty():
                batch.append(subscription.queue.get_nowait())
            if RESYNC in batch:  # we fell behind and our queue was emptied: say so, recover from the database
                yield _frame("resync", {"reason": "the client fell behind; events since the last id follow"})
                async for frame in catch_up(sent):
                    yield frame
                continue
            batch = [e for e in batch if e.id > sent]
            if batch:
                for event, data in await run_in_threadpool(spec.shape, engine, batch):
                    yield _frame(event.name, data, event.id)
                sent = batch[-1].id
    finally:
        subscription.unsubscribe()

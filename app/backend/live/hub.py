"""message_hub: in-process pub/sub from the sync thread to SSE clients on the event loop.

Publishing happens only after the transaction that wrote the events committed (the sync calls
`publish` after commit). Each subscriber has a bounded queue on its event loop; a subscriber that
falls behind is not allowed to grow memory: its queue is emptied and it receives one `resync`
marker, after which the client reloads from the database (or replays by Last-Event-ID).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1_000


@dataclass(frozen=True, slots=True)
class HubEvent:
    id: int  # the event_outbox id: SSE `id:` and the Last-Event-ID replay cursor
    name: str
    payload: dict[str, Any]


RESYNC = HubEvent(id=0, name="resync", payload={})


class Subscription:
    def __init__(self, hub: MessageHub, accepts: Callable[[HubEvent], bool], maxsize: int,
                 loop: asyncio.AbstractEventLoop) -> None:
        self._hub = hub
        self._accepts = accepts
        self._loop = loop
        self.queue: asyncio.Queue[HubEvent] = asyncio.Queue(maxsize=maxsize)
        self.overflows = 0

    def unsubscribe(self) -> None:
        self._hub._remove(self)

    def _offer(self, event: HubEvent) -> None:  # runs on the subscriber's loop
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflows += 1
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)

    def _deliver(self, events: Sequence[HubEvent]) -> None:
        for event in events:
            if event is RESYNC or self._accepts(event):
                self._offer(event)


class MessageHub:
    def __init__(self) -> None:
        self._subscribers: list[Subscription] = []
        self._lock = threading.Lock()
        self.last_id = 0

    def subscribe(self, accepts: Callable[[HubEvent], bool] = lambda _e: True, *,
                  maxsize: int = DEFAULT_QUEUE_SIZE) -> Subscription:
        """Call from the event loop that will read the subscription's queue."""
        subscription = Subscription(self, accepts, maxsize, asyncio.get_running_loop())
        with self._lock:
            self._subscribers.append(subscription)
        return subscription

    def _remove(self, subscription: Subscription) -> None:
        with self._lock:
            if subscription in self._subscribers:
                self._subscribers.remove(subscription)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def publish(self, events: Sequence[HubEvent]) -> None:
        """Thread-safe; never raises into the publisher (a closed loop just drops its subscriber)."""
        if not events:
            return
        self.last_id = max(self.last_id, max(e.id for e in events))
        with self._lock:
            subscribers = list(self._subscribers)
        for subscription in subscribers:
            try:
                subscription._loop.call_soon_threadsafe(subscription._deliver, tuple(events))
            except RuntimeError:  # its loop is closed
                self._remove(subscription)
            except Exception:
                log.exception("hub subscriber failed")

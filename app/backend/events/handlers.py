"""Registry of EventBus handlers, by event type: `@handles(ConversationSealed)` on `def f(event: ConversationSealed)`.

`dispatch` decodes a stream entry's payload once into its typed event (`types.from_payload`) and hands that to
every handler of the type. A payload that does not decode raises `MalformedEvent` before any handler runs (the
consumer records it as a permanent failure); a failing handler is logged by the consumer and retried; neither
ever raises into the publisher.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

from backend.events.types import event_class, from_payload

log = logging.getLogger(__name__)

E = TypeVar("E")
Handler = Callable[[Any], None]
_HANDLERS: dict[str, list[Handler]] = defaultdict(list)


def subscribe(event_type: type[E], fn: Callable[[E], None]) -> Callable[[], None]:
    """Run `fn` for every `event_type` event the consumer dispatches; returns the unsubscribe callable."""
    name: str = getattr(event_type, "name", "")
    if event_class(name) is not event_type:
        raise TypeError(f"{event_type!r} is not an event type (decorate it with @event(name))")
    if fn not in _HANDLERS[name]:
        _HANDLERS[name].append(fn)

    def unsubscribe() -> None:
        if fn in _HANDLERS[name]:
            _HANDLERS[name].remove(fn)

    return unsubscribe


def handles(event_type: type[E]) -> Callable[[Callable[[E], None]], Callable[[E], None]]:
    """Decorator: `subscribe` the function to `event_type` for the life of the process."""

    def register(fn: Callable[[E], None]) -> Callable[[E], None]:
        subscribe(event_type, fn)
        return fn

    return register


def handlers_for(name: str) -> list[Handler]:
    return list(_HANDLERS.get(name, ()))


def dispatch(name: str, payload: Any, *, outbox_id: int) -> int:
    """Decode the payload (MalformedEvent if it does not), then run every handler of `name` with the typed event;
    raises the first failure (after running the others). Returns how many handlers ran."""
    event = from_payload(name, payload)
    failure: Exception | None = None
    ran = 0
    for handler in handlers_for(name):
        try:
            handler(event)
            ran += 1
        except Exception as exc:
            log.exception("handler %s of %s (outbox %d) failed", getattr(handler, "__name__", handler), name,
                          outbox_id)
            failure = failure or exc
    if failure is not None:
        raise failure
    return ran

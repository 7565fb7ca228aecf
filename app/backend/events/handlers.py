"""Registry of EventBus handlers: `@handles("conversation.sealed")`. A failing handler is logged by the
consumer and retried; it never raises into the publisher."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]
_HANDLERS: dict[str, list[Handler]] = defaultdict(list)


def handles(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        if fn not in _HANDLERS[name]:
            _HANDLERS[name].append(fn)
        return fn

    return register


def handlers_for(name: str) -> list[Handler]:
    return list(_HANDLERS.get(name, ()))


def dispatch(name: str, payload: dict[str, Any], *, outbox_id: int) -> int:
    """Run every handler of `name`; raises the first failure (after running the others)."""
    failure: Exception | None = None
    ran = 0
    for handler in handlers_for(name):
        try:
            handler(payload)
            ran += 1
        except Exception as exc:
            log.exception("handler %s of %s (outbox %d) failed", handler.__name__, name, outbox_id)
            failure = failure or exc
    if failure is not None:
        raise failure
    return ran

"""A small cache of computed statistics, valid while the mirror's fingerprint stays the same.

Live sync commits change the fingerprint (new or deleted messages, reactions, edits, contacts), so the next
request recomputes what it asks for, and nothing is recomputed while nobody asks.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_SIZE = 64
_lock = threading.Lock()
_entries: OrderedDict[Hashable, tuple[Hashable, Any]] = OrderedDict()


def cached(key: Hashable, fingerprint: Hashable, compute: Callable[[], T]) -> T:
    with _lock:
        hit = _entries.get(key)
        if hit is not None and hit[0] == fingerprint:
            _entries.move_to_end(key)
            return hit[1]  # type: ignore[no-any-return,unused-ignore]  # stored by this function for this key
    value = compute()
    with _lock:
        _entries[key] = (fingerprint, value)
        _entries.move_to_end(key)
        while len(_entries) > _SIZE:
            _entries.popitem(last=False)
    return value


def clear() -> None:
    """Forget every cached result (the incremental overview's sums too)."""
    from backend.insights.stats import live_overview  # noqa: PLC0415 - live_overview imports the service

    with _lock:
        _entries.clear()
    live_overview.clear()

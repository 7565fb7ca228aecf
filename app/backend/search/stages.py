"""Where a search spends its time: named stages timed while a caller collects them (the benchmark does).

    with collect() as spent:          # {stage: ms}, summed over repeated stages
        search_messages(...)
    with stage("fts.rank"): ...       # costs one ContextVar read when nobody collects
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_spent: ContextVar[dict[str, float] | None] = ContextVar("search_stages", default=None)


@contextmanager
def collect() -> Iterator[dict[str, float]]:
    """The milliseconds each stage took within the block, by stage name."""
    spent: dict[str, float] = {}
    token = _spent.set(spent)
    try:
        yield spent
    finally:
        _spent.reset(token)


@contextmanager
def stage(name: str) -> Iterator[None]:
    spent = _spent.get()
    if spent is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        spent[name] = spent.get(name, 0.0) + (time.perf_counter() - started) * 1000

"""Full decodes of attributedBody blobs, in worker processes when there are many.

A full decode costs ~100 us of pure Python per blob; a first import of a large history has tens
of thousands. Decoding them on the other cores while the main process builds conversations and
indexes takes them off the import's critical path.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from backend.mirror.messages import body_extras

BACKGROUND_THRESHOLD = 2_000
CHUNK = 1_000

ExtrasRow = tuple[str | None, str | None, str | None, str]  # text, body_json, decode_error, guid


def decode_extras(items: Sequence[tuple[str, bytes]]) -> list[ExtrasRow]:
    return [(*body_extras(blob), guid) for guid, blob in items]


class PendingExtras:
    """Decodes running in a process pool; `result()` waits for all of them."""

    def __init__(self, items: Sequence[tuple[str, bytes]]) -> None:
        context = multiprocessing.get_context("spawn" if sys.platform == "darwin" else "fork")
        workers = max(1, min(2, (os.cpu_count() or 2)))
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        self._futures: list[Future] = [
            self._pool.submit(decode_extras, list(items[start:start + CHUNK]))
            for start in range(0, len(items), CHUNK)
        ]

    def result(self) -> list[ExtrasRow]:
        try:
            return [row for future in self._futures for row in future.result()]
        finally:
            self._pool.shutdown(wait=True)


def start_decoding(items: Sequence[tuple[str, bytes]]) -> PendingExtras | list[ExtrasRow]:
    """Decode now when the batch is small, else in the background."""
    if len(items) < BACKGROUND_THRESHOLD:
        return decode_extras(items)
    return PendingExtras(items)

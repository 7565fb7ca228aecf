"""Python work on message blobs, in worker processes when there is much of it.

A full decode costs ~100 us of pure Python per blob (an edit history, with a body per version,
~0.5 ms); a first import of a large history has tens of thousands. Decoding them on the other
cores while the main process builds conversations and indexes takes them off the import's
critical path. A first import also reads the whole source in workers (`PendingPreRead`: every
row's text by `BodyTexts`, ~4 us a row, and each chat's conversations) while the main process
writes people and chats, so the copy only joins the result.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import sqlite3
import sys
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from backend.conversations.split import conversation_spans
from backend.mirror.messages import BodyTexts, body_extras, summary_edits
from backend.mirror.resolution import UNKNOWN_CHAT_KEY
from backend.source.chatdb import sql as source_sql
from backend.source.chatdb.capabilities import SchemaCapabilities
from backend.source.chatdb.reader import change_signature
from backend.source.dates import APPLE_EPOCH_UNIX_MS
from backend.supervisor.lifeline import die_with_parent

log = logging.getLogger(__name__)

BACKGROUND_THRESHOLD = 2_000
CHUNK = 1_000
EDIT_COST = 5  # an edit history costs about five blobs: its chunks are smaller

ExtrasRow = tuple[str | None, str | None, str | None, str]  # text, body_json, decode_error, guid
EditsRow = tuple[str, list[tuple], bool]  # guid, [(part, version, text, edited_at)], unsent


@dataclass(slots=True)
class Decoded:
    extras: list[ExtrasRow] = field(default_factory=list)
    edits: list[EditsRow] = field(default_factory=list)


def decode_extras(items: Sequence[tuple[str, bytes]]) -> list[ExtrasRow]:
    return [(*body_extras(blob), guid) for guid, blob in items]


def decode_edits(items: Sequence[tuple[str, bytes]]) -> list[EditsRow]:
    return [(guid, *summary_edits(summary)) for guid, summary in items]


def _workers() -> int:
    return max(1, min(2, (os.cpu_count() or 2) - 1))  # the importer itself keeps a core


def _pool(workers: int) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("spawn" if sys.platform == "darwin" else "fork")
    # the workers exit when this process dies, however it dies (kill -9 included)
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=die_with_parent,
                               initargs=(os.getpid(),))


class PendingDecodes:
    """Decodes running in a process pool; `result()` waits for all of them."""

    def __init__(self, extras: Sequence[tuple[str, bytes]], edits: Sequence[tuple[str, bytes]]) -> None:
        self._pool = _pool(_workers())
        edit_chunk = CHUNK // EDIT_COST  # the slow kind first, in small chunks, so the workers end together
        self._edits: list[Future] = [self._pool.submit(decode_edits, list(edits[start:start + edit_chunk]))
                                     for start in range(0, len(edits), edit_chunk)]
        self._extras: list[Future] = [self._pool.submit(decode_extras, list(extras[start:start + CHUNK]))
                                      for start in range(0, len(extras), CHUNK)]

    def result(self) -> Decoded:
        try:
            return Decoded(extras=[row for future in self._extras for row in future.result()],
                           edits=[row for future in self._edits for row in future.result()])
        finally:
            self._pool.shutdown(wait=True)


def start_decoding(
    extras: Sequence[tuple[str, bytes]], edits: Sequence[tuple[str, bytes]] = (),
) -> PendingDecodes | Decoded:
    """Decode now when the batch is small, else in the background.

    extras: (guid, attributedBody) to decode fully; edits: (guid, message_summary_info).
    """
    if len(extras) + EDIT_COST * len(edits) < BACKGROUND_THRESHOLD:
        return Decoded(extras=decode_extras(extras), edits=decode_edits(edits))
    return PendingDecodes(extras, edits)


# -- a first import's reads of the whole source, apart from the copy ---------------------------------

PRE_READ_CHUNKS = 4

Span = tuple[str, int, int, int]  # chat key, started_at, last_message_at, message count


@dataclass(slots=True)
class PreRead:
    """A source snapshot's rows as the copy needs them: {source ROWID: text} as a JSON object (parsed in C
    by the copy; `BodyTexts` gave them), the rows needing extras and edits, and each chat's
    conversations (by chat key) as the split function cuts them (None: not planned here)."""

    texts_json: str
    needs_extras: list[int]
    needs_edits: list[int]
    spans: list[Span] | None


def _attached(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    source_sql.attach(conn, Path(path))
    return conn


def decode_texts(path: str, columns: SchemaCapabilities, low: int, high: int) -> tuple[str, list[int], list[int]]:
    """BodyTexts over the messages (tapbacks aside) with low < ROWID <= high, read in one snapshot."""
    conn = _attached(path)
    try:
        not_tapback = source_sql.tapback_filter(columns, tapbacks=False)
        select = source_sql.message_select(
            columns, where=f"m.ROWID > :low AND m.ROWID <= :high AND {not_tapback}", with_chat=False)
        body = BodyTexts()
        texts = {rowid: body(rowid, text, blob, summary) for rowid, text, blob, summary in conn.execute(
            f"SELECT source_rowid, text, body, summary_info FROM ({select})", {"low": low, "high": high})}
        return json.dumps(texts, ensure_ascii=False), body.needs_extras, body.needs_edits
    finally:
        conn.close()


def plan_spans(path: str, columns: SchemaCapabilities, chat_keys: dict[int, str], gap_ms: int) -> list[Span]:
    """Each chat's conversations over the messages (tapbacks aside) of one snapshot: the split function
    over the times of the chat (by key: several chat.db chats can be one chat) each message is in."""
    conn = _attached(path)
    try:
        select = source_sql.message_select(columns, where=source_sql.tapback_filter(columns, tapbacks=False))
        times_of: dict[str, list[int]] = defaultdict(list)
        for chat_rowid, sent_at in conn.execute(
            f"SELECT s.chat_rowid, coalesce({source_sql.apple_ms_sql('s.date')}, {APPLE_EPOCH_UNIX_MS}) "
            f"FROM ({select}) AS s"
        ):
            times_of[chat_keys.get(chat_rowid, UNKNOWN_CHAT_KEY)].append(sent_at)
    finally:
        conn.close()
    spans: list[Span] = []
    for key, times in times_of.items():
        times.sort()
        spans.extend((key, *span) for span in conversation_spans(times, gap_ms))
    return spans


class PendingPreRead:
    """`decode_texts` (and with `plan`, `plan_spans`) over a whole source in worker processes, started
    before the importer's own snapshot of the source, while it writes people and chats.

    With cores to spare both run in workers (two); on two cores one worker decodes the texts while the
    importer plans the conversations itself, so that each core has about half of the work.

    The workers read the source in snapshots of their own; `result()` hands their work over only when
    the source's change signature is what it was before any of those snapshots began (nothing
    committed in between, so every reader saw the same rows), else None and the importer reads the
    source itself.
    """

    def __init__(self, path: Path, columns: SchemaCapabilities, *, max_rowid: int, chat_keys: dict[int, str],
                 gap_ms: int, plan: bool = True) -> None:
        self._path = Path(path)
        self._signature = change_signature(self._path)  # before any snapshot of this import
        self._pool = _pool(2 if plan else 1)  # planning here too: the importer mostly waits for these
        self.plans = plan
        self._spans = self._pool.submit(plan_spans, str(self._path), columns, chat_keys, gap_ms) if plan else None
        step = max_rowid // PRE_READ_CHUNKS + 1
        lows = list(range(0, max_rowid, step)) or [0]
        highs = lows[1:] + [2**63 - 1]  # the last chunk is open: rows added since max_rowid was read
        self._texts: list[Future] = [
            self._pool.submit(decode_texts, str(self._path), columns, low, high)
            for low, high in zip(lows, highs, strict=False)
        ]

    def result(self) -> PreRead | None:
        """Call once the importer's own snapshot of the source has begun."""
        try:
            spans = self._spans.result() if self._spans is not None else None
            parts = [future.result() for future in self._texts]
        except Exception:
            log.warning("reading the source in worker processes failed; the import reads it itself", exc_info=True)
            return None
        finally:
            self._pool.shutdown(wait=True)
        if change_signature(self._path) != self._signature:
            log.info("the source changed while it was read: the import reads it again itself")
            return None
        texts = ",".join(part[0][1:-1] for part in parts if part[0] != "{}")
        return PreRead("{" + texts + "}", [r for part in parts for r in part[1]],
                       [r for part in parts for r in part[2]], spans)

    def cancel(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

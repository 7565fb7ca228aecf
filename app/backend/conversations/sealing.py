"""Sealing from SQLite truth: a conversation whose last message is older than the gap is sealed.

The check runs at start-up and every minute (beat), so a machine that slept for a week or a
wiped Redis loses nothing: what is due is found from `conversations` alone. Sealing and
finalizing each write their event to the outbox in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from backend.conversations import repo
from backend.db.clock import now_ms
from backend.db.session import run_write, session_scope
from backend.events import outbox
from backend.events.types import ConversationReadyForAnalysis, ConversationSealed


def seal_due(engine: Engine, *, now_ms: int, gap_ms: int) -> list[int]:
    """Seal every open conversation whose last message is more than `gap_ms` before `now_ms`."""

    def _seal(conn: Connection) -> list[int]:
        sealed = repo.seal_due(conn, now_ms=now_ms, gap_ms=gap_ms)
        outbox.record(conn, [ConversationSealed(cid, chat_id, revision) for cid, chat_id, revision in sealed])
        return [cid for cid, _chat, _rev in sealed]

    return run_write(_seal, engine=engine)


def finalize(engine: Engine, *, conversation_id: int, revision: int) -> bool:
    """sealed -> ready (and the event that starts batch passes). Idempotent: False when nothing to do
    (already ready, re-opened since, or a newer revision sealed)."""

    def _finalize(conn: Connection) -> bool:
        if not repo.mark_ready(conn, conversation_id=conversation_id, revision=revision, now_ms=now_ms()):
            return False
        outbox.record(conn, [ConversationReadyForAnalysis(conversation_id, revision)])
        return True

    return run_write(_finalize, engine=engine)


def lost_work(engine: Engine, *, now_ms: int, grace_ms: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Work whose event went missing (a wiped Redis, a crash): re-derived from SQLite state alone.

    Returns (sealed conversations to finalize, ready conversations whose batch passes to enqueue).
    """
    with session_scope(engine) as conn:
        return (repo.list_stuck_sealed(conn, sealed_before=now_ms - grace_ms),
                repo.list_ready_without_jobs(conn, updated_before=now_ms - grace_ms))

"""SQL of conversations as the API reads them (the split itself lives in split.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from backend.db.session import fetch_all, fetch_one, sqlite_of

_CONVERSATION_SELECT = """
    SELECT cv.id, cv.chat_id, cv.started_at, cv.last_message_at, cv.message_count, cv.state, cv.sealed_at,
           (SELECT m.id FROM messages m WHERE m.conversation_id = cv.id
            ORDER BY m.sent_at, m.id LIMIT 1) AS first_message_id
    FROM conversations cv
"""


def list_conversations(
    conn: Connection, *, chat_id: int, before: tuple[int, int] | None, limit: int
) -> list[dict[str, Any]]:
    """A chat's conversations, newest first by (started_at, id), older than `before` when given."""
    keyset = "AND (cv.started_at, cv.id) < (:before_at, :before_id)" if before is not None else ""
    before_at, before_id = before or (None, None)
    return fetch_all(
        conn,
        f"""{_CONVERSATION_SELECT}
        WHERE cv.chat_id = :chat_id {keyset}
        ORDER BY cv.started_at DESC, cv.id DESC
        LIMIT :limit""",
        {"chat_id": chat_id, "before_at": before_at, "before_id": before_id, "limit": limit},
    )


def get(conn: Connection, *, conversation_id: int) -> dict[str, Any] | None:
    return fetch_one(conn, f"{_CONVERSATION_SELECT} WHERE cv.id = :conversation_id",
                     {"conversation_id": conversation_id})


# -- sealing --------------------------------------------------------------------------------------------

def seal_due(conn: Connection, *, now_ms: int, gap_ms: int) -> list[tuple[int, int, int]]:
    """Open conversations quiet for longer than the gap become sealed; (id, chat_id, revision) of each."""
    return [tuple(r) for r in sqlite_of(conn).execute(
        "UPDATE conversations SET state = 'sealed', sealed_at = ?, updated_at = ? "
        "WHERE state = 'open' AND last_message_at < ? RETURNING id, chat_id, revision",
        (now_ms, now_ms, now_ms - gap_ms),
    ).fetchall()]


def mark_ready(conn: Connection, *, conversation_id: int, revision: int, now_ms: int) -> bool:
    return sqlite_of(conn).execute(
        "UPDATE conversations SET state = 'ready', updated_at = ? WHERE id = ? AND state = 'sealed' AND revision = ?",
        (now_ms, conversation_id, revision),
    ).rowcount == 1


def get_state(conn: Connection, *, conversation_id: int) -> tuple[str, int] | None:
    row = sqlite_of(conn).execute(
        "SELECT state, revision FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
    return (row[0], row[1]) if row else None


def list_stuck_sealed(conn: Connection, *, sealed_before: int) -> list[tuple[int, int]]:
    """(id, revision) of conversations sealed a while ago but never finalized (their event was lost)."""
    return [tuple(r) for r in sqlite_of(conn).execute(
        "SELECT id, revision FROM conversations WHERE state = 'sealed' AND sealed_at < ? ORDER BY id",
        (sealed_before,)).fetchall()]


def list_ready_without_jobs(conn: Connection, *, updated_before: int) -> list[tuple[int, int]]:
    """(id, revision) of ready conversations that have no analysis job for their revision yet."""
    return [tuple(r) for r in sqlite_of(conn).execute("""
        SELECT c.id, c.revision FROM conversations c
        WHERE c.state = 'ready' AND c.updated_at < ?
          AND NOT EXISTS (SELECT 1 FROM analysis_jobs j WHERE j.conversation_id = c.id AND j.revision = c.revision)
        ORDER BY c.id
    """, (updated_before,)).fetchall()]

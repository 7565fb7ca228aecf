"""SQL of conversations as the API reads them (the split itself lives in split.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from backend.db.session import fetch_all, fetch_one

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

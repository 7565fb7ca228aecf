"""Shared helpers of the analysis tests: the central.db of the test, and a demo conversation to analyse."""

from __future__ import annotations

import sqlite3

from backend.config import get_settings


def db() -> sqlite3.Connection:
    conn = sqlite3.connect(get_settings().central_db_path)
    conn.row_factory = sqlite3.Row
    return conn


def busiest_conversation() -> int:
    """A historic demo conversation with text from both sides and the most active reactions."""
    return db().execute("""
        SELECT m.conversation_id FROM messages m LEFT JOIN reactions r ON r.message_id = m.id AND r.is_active = 1
        WHERE m.conversation_id IS NOT NULL AND m.deleted_at IS NULL
        GROUP BY m.conversation_id HAVING sum(m.is_from_me) > 0 AND sum(1 - m.is_from_me) > 0
        ORDER BY count(r.id) DESC, m.conversation_id LIMIT 1
    """).fetchone()[0]


def plant_message(conversation_id: int, text: str, *, is_from_me: bool = True) -> tuple[int, int]:
    """A message added to the conversation, just after its last one; (message id, sent_at)."""
    conn = db()
    with conn:
        last = conn.execute("SELECT chat_id, max(sent_at) AS at FROM messages WHERE conversation_id = ?",
                            (conversation_id,)).fetchone()
        sent_at = last["at"] + 60_000
        cursor = conn.execute(
            "INSERT INTO messages (guid, chat_id, conversation_id, is_from_me, sent_at, text, kind) "
            "VALUES (?, ?, ?, ?, ?, ?, 'message')",
            (f"planted-{conversation_id}-{sent_at}", last["chat_id"], conversation_id, int(is_from_me), sent_at, text))
    return cursor.lastrowid, sent_at

"""SQL of search: the messages that make up conversation chunks, FTS5 hits, and the filters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from backend.contacts.repo import label_sql
from backend.db.session import fetch_all

# What counts as searchable: live messages with text.
_LIVE = "m.deleted_at IS NULL AND m.is_unsent = 0 AND m.kind = 'message' AND m.text IS NOT NULL AND m.text != ''"


def list_conversation_ids(conn: Connection) -> list[int]:
    return [row["id"] for row in fetch_all(conn, "SELECT id FROM conversations ORDER BY id")]


def list_chunk_messages(conn: Connection, *, conversation_ids: list[int]) -> list[dict[str, Any]]:
    """Searchable messages of the conversations, in conversation then time order."""
    if not conversation_ids:
        return []
    marks = ", ".join(f":c{i}" for i in range(len(conversation_ids)))
    return fetch_all(conn, f"""
        SELECT m.id, m.conversation_id, m.text FROM messages m
        WHERE m.conversation_id IN ({marks}) AND {_LIVE}
        ORDER BY m.conversation_id, m.sent_at, m.id
    """, {f"c{i}": cid for i, cid in enumerate(conversation_ids)})


def _filters(filters: dict[str, Any]) -> str:
    clauses = []
    if filters.get("chat_id") is not None:
        clauses.append("m.chat_id = :chat_id")
    if filters.get("contact_id") is not None:
        clauses.append("m.chat_id IN (SELECT chat_id FROM chat_participants WHERE contact_id = :contact_id)")
    if filters.get("since") is not None:
        clauses.append("m.sent_at >= :since")
    if filters.get("until") is not None:
        clauses.append("m.sent_at < :until")
    return "".join(f" AND {clause}" for clause in clauses)


def fts_message_hits(conn: Connection, *, match: str, filters: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """Messages matching the FTS5 expression, best bm25 first, with their conversation."""
    return fetch_all(conn, f"""
        SELECT m.id, m.conversation_id, bm25(messages_fts) AS rank
        FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
        WHERE messages_fts MATCH :match AND m.conversation_id IS NOT NULL AND {_LIVE}{_filters(filters)}
        ORDER BY rank LIMIT :limit
    """, {"match": match, "limit": limit, **filters})


def filter_chunk_messages(conn: Connection, *, conversation_id: int, first_id: int, last_id: int,
                          filters: dict[str, Any]) -> list[dict[str, Any]]:
    """The searchable messages of one chunk (first..last in time order) that pass the filters."""
    return fetch_all(conn, f"""
        WITH bounds AS (
            SELECT (SELECT sent_at FROM messages WHERE id = :first_id) AS lo_at,
                   (SELECT sent_at FROM messages WHERE id = :last_id) AS hi_at
        )
        SELECT m.id FROM messages m, bounds
        WHERE m.conversation_id = :conversation_id AND {_LIVE}
          AND (m.sent_at, m.id) >= (bounds.lo_at, :first_id) AND (m.sent_at, m.id) <= (bounds.hi_at, :last_id)
          {_filters(filters)}
        ORDER BY m.sent_at, m.id
    """, {"conversation_id": conversation_id, "first_id": first_id, "last_id": last_id, **filters})


def get_messages(conn: Connection, *, ids: list[int]) -> dict[int, dict[str, Any]]:
    """id -> message as search shows it (text, time, sender name, chat and conversation)."""
    if not ids:
        return {}
    marks = ", ".join(f":i{n}" for n in range(len(ids)))
    rows = fetch_all(conn, f"""
        SELECT m.id, m.guid, m.chat_id, m.conversation_id, m.text, m.sent_at, m.is_from_me,
               coalesce(sw.id, s.id) AS sender_contact_id,
               CASE WHEN m.is_from_me THEN 'Me'
                    ELSE coalesce({label_sql("sw")}, {label_sql("s")}, m.sender_handle) END AS sender
        FROM messages m
        LEFT JOIN contacts s ON s.id = m.sender_contact_id
        LEFT JOIN contacts sw ON sw.id = s.merged_into_id
        WHERE m.id IN ({marks})
    """, {f"i{n}": value for n, value in enumerate(ids)})
    return {row["id"]: row for row in rows}

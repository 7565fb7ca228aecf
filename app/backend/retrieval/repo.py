"""SQL of the retrievers. Chat and conversation filters are JSON arrays (`json_each`); NULL means all."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from backend.db.session import fetch_all, fetch_one

USER_NAME_KEYS = ("user.name", "profile.name")

_MESSAGE = """
    SELECT m.id AS message_id, m.conversation_id, m.chat_id, m.sent_at, m.text, m.is_from_me,
           coalesce(c.display_name, m.sender_handle) AS sender
    FROM messages m
    LEFT JOIN contacts c ON c.id = m.sender_contact_id
"""
_LIVE_TEXT = "m.deleted_at IS NULL AND m.text IS NOT NULL AND trim(m.text) != ''"


def _ids(values: list[int] | None) -> str | None:
    return None if values is None else json.dumps(list(values))


def get_user_name(conn: Connection) -> str | None:
    row = fetch_one(conn, """
        SELECT value FROM app_settings WHERE key IN ('user.name', 'profile.name')
        ORDER BY key = 'user.name' DESC LIMIT 1
    """)
    if row is None:
        return None
    value = json.loads(row["value"])
    return value.strip() if isinstance(value, str) and value.strip() else None


def list_chat_ids_of_contacts(conn: Connection, *, contact_ids: list[int]) -> list[int]:
    rows = fetch_all(conn, """
        SELECT DISTINCT chat_id FROM chat_participants
        WHERE contact_id IN (SELECT value FROM json_each(:contact_ids)) ORDER BY chat_id
    """, {"contact_ids": json.dumps(contact_ids)})
    return [row["chat_id"] for row in rows]


def list_messages_around(conn: Connection, *, message_id: int, before: int, after: int) -> list[dict[str, Any]]:
    """The messages of the same chat just before and just after one message (not the message itself)."""
    params = {"id": message_id, "before": before, "after": after}
    earlier = fetch_all(conn, f"""
        {_MESSAGE}, messages hit
        WHERE hit.id = :id AND m.chat_id = hit.chat_id AND {_LIVE_TEXT}
          AND (m.sent_at < hit.sent_at OR (m.sent_at = hit.sent_at AND m.id < hit.id))
        ORDER BY m.sent_at DESC, m.id DESC LIMIT :before
    """, params)
    later = fetch_all(conn, f"""
        {_MESSAGE}, messages hit
        WHERE hit.id = :id AND m.chat_id = hit.chat_id AND {_LIVE_TEXT}
          AND (m.sent_at > hit.sent_at OR (m.sent_at = hit.sent_at AND m.id > hit.id))
        ORDER BY m.sent_at, m.id LIMIT :after
    """, params)
    return list(reversed(earlier)) + later


def list_conversation_messages(conn: Connection, *, conversation_id: int, after_message_id: int | None,
                               before_message_id: int | None, since_ms: int | None,
                               limit: int, newest: bool = False) -> list[dict[str, Any]]:
    """A conversation's messages in time order; `newest` keeps the last `limit` rather than the first."""
    rows = fetch_all(conn, f"""
        {_MESSAGE}
        WHERE m.conversation_id = :conversation_id AND {_LIVE_TEXT}
          AND (:after IS NULL OR m.id > :after) AND (:before IS NULL OR m.id < :before)
          AND (:since IS NULL OR m.sent_at >= :since)
        ORDER BY m.sent_at {'DESC' if newest else 'ASC'}, m.id {'DESC' if newest else 'ASC'}
        LIMIT :limit
    """, {"conversation_id": conversation_id, "after": after_message_id, "before": before_message_id,
          "since": since_ms, "limit": limit})
    return list(reversed(rows)) if newest else rows


def get_latest_conversation_id(conn: Connection, *, chat_ids: list[int] | None) -> int | None:
    row = fetch_one(conn, """
        SELECT id FROM conversations
        WHERE (:chat_ids IS NULL OR chat_id IN (SELECT value FROM json_each(:chat_ids)))
        ORDER BY last_message_at DESC, id DESC LIMIT 1
    """, {"chat_ids": _ids(chat_ids)})
    return row["id"] if row else None


def list_conversations(conn: Connection, *, conversation_ids: list[int] | None, chat_ids: list[int] | None,
                       since_ms: int | None, limit: int) -> list[dict[str, Any]]:
    """Conversations, newest first, with the latest summary an analysis gave them (NULL when none)."""
    return fetch_all(conn, """
        SELECT v.id AS conversation_id, v.chat_id, v.started_at, v.last_message_at, v.message_count,
               ch.display_name AS chat_name,
               (SELECT a.summary FROM conversation_analyses a
                WHERE a.conversation_id = v.id AND a.status = 'done' AND a.summary IS NOT NULL
                ORDER BY a.updated_at DESC LIMIT 1) AS summary
        FROM conversations v
        JOIN chats ch ON ch.id = v.chat_id
        WHERE (:conversation_ids IS NULL OR v.id IN (SELECT value FROM json_each(:conversation_ids)))
          AND (:chat_ids IS NULL OR v.chat_id IN (SELECT value FROM json_each(:chat_ids)))
          AND (:since IS NULL OR v.last_message_at >= :since)
        ORDER BY v.last_message_at DESC, v.id DESC
        LIMIT :limit
    """, {"conversation_ids": _ids(conversation_ids), "chat_ids": _ids(chat_ids), "since": since_ms,
          "limit": limit})


def list_contact_names(conn: Connection, *, limit: int) -> list[str]:
    rows = fetch_all(conn, """
        SELECT display_name FROM contacts
        WHERE merged_into_id IS NULL AND display_name IS NOT NULL AND trim(display_name) != ''
        ORDER BY display_name COLLATE NOCASE LIMIT :limit
    """, {"limit": limit})
    return [row["display_name"] for row in rows]


def list_analysis_facets(conn: Connection, *, kinds: list[str], conversation_ids: list[int] | None,
                         chat_ids: list[int] | None, limit: int) -> list[dict[str, Any]]:
    """Per conversation and kind (topics, emotions, entities), what the analyses found, newest first."""
    return fetch_all(conn, """
        WITH scoped AS (
            SELECT v.id, v.chat_id, v.last_message_at FROM conversations v
            WHERE (:conversation_ids IS NULL OR v.id IN (SELECT value FROM json_each(:conversation_ids)))
              AND (:chat_ids IS NULL OR v.chat_id IN (SELECT value FROM json_each(:chat_ids)))
        ), facets AS (
            SELECT 'topics' AS kind, t.conversation_id,
                   group_concat(DISTINCT t.topic) AS items
            FROM topics t JOIN scoped s ON s.id = t.conversation_id GROUP BY t.conversation_id
            UNION ALL
            SELECT 'emotions', e.conversation_id,
                   group_concat(e.participant || ': ' || e.emotion || ' ' || printf('%.1f', e.score), '; ')
            FROM emotions e JOIN scoped s ON s.id = e.conversation_id GROUP BY e.conversation_id
            UNION ALL
            SELECT 'entities', n.conversation_id, group_concat(DISTINCT n.kind || ' ' || n.text)
            FROM entities n JOIN scoped s ON s.id = n.conversation_id GROUP BY n.conversation_id
        )
        SELECT f.kind, f.conversation_id, f.items, s.last_message_at
        FROM facets f JOIN scoped s ON s.id = f.conversation_id
        WHERE f.kind IN (SELECT value FROM json_each(:kinds))
        ORDER BY s.last_message_at DESC, f.conversation_id, f.kind
        LIMIT :limit
    """, {"kinds": json.dumps(kinds), "conversation_ids": _ids(conversation_ids), "chat_ids": _ids(chat_ids),
          "limit": limit})


def list_commitments(conn: Connection, *, statuses: list[str] | None, conversation_ids: list[int] | None,
                     chat_ids: list[int] | None, limit: int) -> list[dict[str, Any]]:
    return fetch_all(conn, """
        SELECT k.id AS commitment_id, k.conversation_id, k.chat_id, k.message_id, k.committed_by, k.text,
               k.due_text, k.due_at, k.status, k.created_at
        FROM commitments k
        WHERE (:statuses IS NULL OR k.status IN (SELECT value FROM json_each(:statuses)))
          AND (:conversation_ids IS NULL OR k.conversation_id IN (SELECT value FROM json_each(:conversation_ids)))
          AND (:chat_ids IS NULL OR k.chat_id IN (SELECT value FROM json_each(:chat_ids)))
        ORDER BY k.status = 'active' DESC, k.due_at IS NULL, k.due_at, k.created_at DESC
        LIMIT :limit
    """, {"statuses": None if statuses is None else json.dumps(statuses),
          "conversation_ids": _ids(conversation_ids), "chat_ids": _ids(chat_ids), "limit": limit})

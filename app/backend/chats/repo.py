"""SQL of chats as the inbox lists them, and of their participants."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from backend.contacts.repo import label_sql
from backend.db.session import fetch_all, fetch_one

UNKNOWN_CHAT_KEY = "unknown:no-chat"  # where the mirror keeps messages that reference no chat

# Chats in inbox order: latest activity first, id breaking ties (the keyset of the cursor).
# The internal chat of chat-less messages is shown only once it holds any.
_CHAT_SELECT = """
    SELECT c.id, c.chat_key, c.is_group, c.display_name, c.service, c.last_message_at, c.last_message_id,
           c.message_count, c.unread_count,
           (SELECT s.chat_identifier FROM chat_sources s WHERE s.chat_id = c.id
            ORDER BY s.source_rowid LIMIT 1) AS chat_identifier
    FROM chats c
    WHERE (c.chat_key != :unknown_key OR c.message_count > 0)
"""

_MATCHES_Q = r"""
    AND (c.display_name LIKE :q ESCAPE '\'
         OR EXISTS (SELECT 1 FROM chat_participants p
                    JOIN contacts pc ON pc.id = p.contact_id
                    LEFT JOIN contacts pw ON pw.id = pc.merged_into_id
                    WHERE p.chat_id = c.id
                      AND (coalesce(pw.display_name, pc.display_name) LIKE :q ESCAPE '\'
                           OR EXISTS (SELECT 1 FROM contact_identifiers ci
                                      WHERE ci.contact_id IN (pc.id, pw.id) AND ci.value LIKE :q ESCAPE '\'))))
"""


def list_chats(
    conn: Connection, *, before: tuple[int, int] | None, q_like: str | None, limit: int
) -> list[dict[str, Any]]:
    """Chats ordered by (last_message_at, id) descending, older than `before` when given.

    A chat without messages sorts as if its last message were at 0. `q_like` is a LIKE pattern over
    the chat's name and its participants' names and identifiers.
    """
    keyset = "AND (ifnull(c.last_message_at, 0), c.id) < (:before_at, :before_id)" if before is not None else ""
    before_at, before_id = before or (None, None)
    return fetch_all(
        conn,
        f"""{_CHAT_SELECT} {keyset} {_MATCHES_Q if q_like is not None else ""}
        ORDER BY ifnull(c.last_message_at, 0) DESC, c.id DESC
        LIMIT :limit""",
        {"unknown_key": UNKNOWN_CHAT_KEY, "before_at": before_at, "before_id": before_id, "q": q_like,
         "limit": limit},
    )


def get(conn: Connection, *, chat_id: int) -> dict[str, Any] | None:
    return fetch_one(conn, f"{_CHAT_SELECT} AND c.id = :chat_id",
                     {"unknown_key": UNKNOWN_CHAT_KEY, "chat_id": chat_id})


def list_participants(conn: Connection, *, chat_ids: list[int]) -> list[dict[str, Any]]:
    """Participants of the given chats, a merged contact shown as the contact that absorbed it.

    Ordered per chat: named people first (by name), then bare identifiers.
    """
    return fetch_all(
        conn,
        f"""
        SELECT p.chat_id, p.is_active, coalesce(w.id, pc.id) AS contact_id,
               coalesce(w.display_name, pc.display_name) AS display_name,
               coalesce(w.first_name, pc.first_name) AS first_name,
               coalesce({label_sql("w")}, {label_sql("pc")}) AS label,
               (SELECT json_group_array(json_object('kind', kind, 'value', value)) FROM (
                    SELECT ci.kind, ci.value FROM contact_identifiers ci
                    WHERE ci.contact_id = coalesce(w.id, pc.id)
                    ORDER BY ci.from_addressbook DESC, ci.id)) AS identifiers_json
        FROM chat_participants p
        JOIN contacts pc ON pc.id = p.contact_id
        LEFT JOIN contacts w ON w.id = pc.merged_into_id
        WHERE p.chat_id IN (SELECT value FROM json_each(:chat_ids))
        ORDER BY p.chat_id, coalesce(w.display_name, pc.display_name) IS NULL, label COLLATE NOCASE,
                 coalesce(w.id, pc.id)
        """,
        {"chat_ids": json.dumps(chat_ids)},
    )

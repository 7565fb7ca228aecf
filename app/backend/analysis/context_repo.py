"""SQL of the conversation context the prompts read (backend.analysis.context): reads of the mirror only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from backend.db.session import fetch_all, fetch_one


def get_conversation(conn: Connection, *, conversation_id: int) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT id, chat_id, revision FROM conversations WHERE id = :id", {"id": conversation_id})


def list_active_member_ids(conn: Connection, *, chat_id: int) -> list[int]:
    rows = fetch_all(
        conn, "SELECT contact_id FROM chat_participants WHERE chat_id = :c AND is_active = 1 ORDER BY contact_id",
        {"c": chat_id})
    return [row["contact_id"] for row in rows]


def list_prompt_messages(conn: Connection, *, conversation_id: int) -> list[dict[str, Any]]:
    """The conversation's visible messages, oldest first, with their attachments named in one string."""
    return fetch_all(conn, """
        SELECT m.id, m.is_from_me, m.sender_contact_id, m.sender_handle, m.sent_at, m.text,
               (SELECT group_concat(coalesce(a.transfer_name, a.mime_type, 'file'), ', ')
                FROM attachments a WHERE a.message_id = m.id) AS attachments
        FROM messages m
        WHERE m.conversation_id = :c AND m.deleted_at IS NULL AND m.kind = 'message' AND m.is_unsent = 0
          AND m.retracted_at IS NULL
        ORDER BY m.sent_at, m.id
    """, {"c": conversation_id})


def list_active_reactions(conn: Connection, *, conversation_id: int) -> list[dict[str, Any]]:
    return fetch_all(conn, """
        SELECT r.message_id, r.kind, r.emoji, r.is_from_me, r.sender_contact_id, r.sender_key
        FROM reactions r JOIN messages m ON m.id = r.message_id
        WHERE m.conversation_id = :c AND r.is_active = 1
        ORDER BY r.reacted_at, r.id
    """, {"c": conversation_id})


def get_contact(conn: Connection, *, contact_id: int) -> dict[str, Any] | None:
    """One contact row with its first identifier (the name of last resort); `merged_into_id` says where it went."""
    return fetch_one(conn, """
        SELECT c.id, c.display_name, c.first_name, c.last_name, c.nickname, c.organization, c.merged_into_id,
               (SELECT ci.value FROM contact_identifiers ci WHERE ci.contact_id = c.id ORDER BY ci.id LIMIT 1)
                 AS identifier
        FROM contacts c WHERE c.id = :id
    """, {"id": contact_id})

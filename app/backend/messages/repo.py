"""SQL that shapes messages for the API: one row per message with its sender's name, active
reactions, attachments and edit count folded in (JSON arrays built in SQL), so a page is one query.

Chats and conversations reuse these functions through the messages service.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from backend.contacts.repo import label_sql
from backend.db.session import fetch_all, fetch_one

# A sender that was merged into another contact is shown as the contact that absorbed it.
_MESSAGE_SELECT = f"""
    SELECT m.id, m.guid, m.chat_id, m.conversation_id, m.sent_at, m.is_from_me, m.service,
           coalesce(sw.id, s.id) AS sender_contact_id,
           coalesce({label_sql("sw")}, {label_sql("s")}, m.sender_handle) AS sender_name,
           m.sender_handle, m.text, m.subject, m.kind, m.group_title, m.edited_at, m.retracted_at,
           m.is_unsent, m.deleted_at, m.reply_to_guid, m.reply_to_part, m.effect, m.balloon_bundle_id,
           m.is_read, m.read_at, m.delivered_at, m.is_audio, m.body_json, m.decode_error,
           (SELECT count(*) - count(DISTINCT e.part) FROM message_edits e
            WHERE e.message_id = m.id) AS edit_count,
           (SELECT json_group_array(json_object(
                       'kind', kind, 'emoji', emoji, 'part', target_part, 'is_from_me', is_from_me,
                       'sender_contact_id', sender_contact_id, 'sender_name', sender_name,
                       'reacted_at', reacted_at))
            FROM (SELECT r.kind, r.emoji, r.target_part, r.is_from_me, r.reacted_at,
                         CASE WHEN r.is_from_me THEN NULL ELSE coalesce(rw.id, rc.id) END AS sender_contact_id,
                         CASE WHEN r.is_from_me THEN NULL
                              ELSE coalesce({label_sql("rw")}, {label_sql("rc")}) END AS sender_name
                  FROM reactions r
                  LEFT JOIN contacts rc ON rc.id = r.sender_contact_id
                  LEFT JOIN contacts rw ON rw.id = rc.merged_into_id
                  WHERE r.message_id = m.id AND r.is_active = 1
                  ORDER BY r.reacted_at, r.id)) AS reactions_json,
           (SELECT json_group_array(json_object(
                       'id', id, 'guid', guid, 'transfer_name', transfer_name, 'mime_type', mime_type,
                       'uti', uti, 'total_bytes', total_bytes, 'is_sticker', is_sticker,
                       'file_present', file_present))
            FROM (SELECT a.* FROM attachments a WHERE a.message_id = m.id ORDER BY a.id)) AS attachments_json
    FROM messages m
    LEFT JOIN contacts s ON s.id = m.sender_contact_id
    LEFT JOIN contacts sw ON sw.id = s.merged_into_id
"""

# The few columns a chat or conversation list shows of its last or first message.
_PREVIEW_SELECT = f"""
    SELECT m.id, m.chat_id, m.conversation_id, m.sent_at, m.is_from_me, m.text, m.kind, m.is_unsent,
           m.deleted_at, m.has_attachments,
           coalesce(sw.id, s.id) AS sender_contact_id,
           coalesce({label_sql("sw")}, {label_sql("s")}, m.sender_handle) AS sender_name
    FROM messages m
    LEFT JOIN contacts s ON s.id = m.sender_contact_id
    LEFT JOIN contacts sw ON sw.id = s.merged_into_id
"""


def get(conn: Connection, *, message_id: int) -> dict[str, Any] | None:
    return fetch_one(conn, f"{_MESSAGE_SELECT} WHERE m.id = :message_id", {"message_id": message_id})


def list_by_ids(conn: Connection, *, message_ids: list[int]) -> list[dict[str, Any]]:
    return fetch_all(conn, f"{_MESSAGE_SELECT} WHERE m.id IN (SELECT value FROM json_each(:ids))",
                     {"ids": json.dumps(message_ids)})


def get_position(conn: Connection, *, message_id: int) -> dict[str, Any] | None:
    """Where a message sits (chat, conversation, keyset position): the anchor of a cursor."""
    return fetch_one(
        conn,
        "SELECT id, chat_id, conversation_id, sent_at FROM messages WHERE id = :message_id",
        {"message_id": message_id},
    )


def list_chat_messages_before(
    conn: Connection, *, chat_id: int, before: tuple[int, int] | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first: the chat's messages older than `before` (sent_at, id), or its newest ones."""
    keyset = "AND (m.sent_at, m.id) < (:sent_at, :id)" if before is not None else ""
    sent_at, id_ = before or (None, None)
    return fetch_all(
        conn,
        f"""{_MESSAGE_SELECT}
        WHERE m.chat_id = :chat_id {keyset}
        ORDER BY m.sent_at DESC, m.id DESC
        LIMIT :limit""",
        {"chat_id": chat_id, "sent_at": sent_at, "id": id_, "limit": limit},
    )


def list_chat_messages_after(
    conn: Connection, *, chat_id: int, after: tuple[int, int], limit: int
) -> list[dict[str, Any]]:
    """Oldest first: the chat's messages newer than `after` (sent_at, id), for catching up."""
    return fetch_all(
        conn,
        f"""{_MESSAGE_SELECT}
        WHERE m.chat_id = :chat_id AND (m.sent_at, m.id) > (:sent_at, :id)
        ORDER BY m.sent_at, m.id
        LIMIT :limit""",
        {"chat_id": chat_id, "sent_at": after[0], "id": after[1], "limit": limit},
    )


def list_conversation_messages(
    conn: Connection, *, conversation_id: int, after: tuple[int, int] | None, limit: int
) -> list[dict[str, Any]]:
    """Oldest first: a conversation's messages (after `after` (sent_at, id) when given)."""
    keyset = "AND (m.sent_at, m.id) > (:sent_at, :id)" if after is not None else ""
    sent_at, id_ = after or (None, None)
    return fetch_all(
        conn,
        f"""{_MESSAGE_SELECT}
        WHERE m.conversation_id = :conversation_id {keyset}
        ORDER BY m.sent_at, m.id
        LIMIT :limit""",
        {"conversation_id": conversation_id, "sent_at": sent_at, "id": id_, "limit": limit},
    )


def list_edits(conn: Connection, *, message_id: int) -> list[dict[str, Any]]:
    """Every recorded version of every part (version 0 is the original text)."""
    return fetch_all(
        conn,
        """
        SELECT part, version, text, edited_at FROM message_edits
        WHERE message_id = :message_id
        ORDER BY part, version
        """,
        {"message_id": message_id},
    )


def list_previews(conn: Connection, *, message_ids: list[int]) -> list[dict[str, Any]]:
    """Previews of the given messages (any order; missing ids are left out)."""
    return fetch_all(
        conn,
        f"{_PREVIEW_SELECT} WHERE m.id IN (SELECT value FROM json_each(:ids))",
        {"ids": json.dumps(message_ids)},
    )

"""SQL the tools need beyond the other domains' services: people by name, their one-to-one chats, and the
latest messages and conversations of a chat in a time range (what a statistic cites).

Messages count as the chat list counts them: kind 'message', not deleted. Times are unix ms.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from backend.contacts.repo import label_sql
from backend.db.session import fetch_all, fetch_one

VISIBLE = "m.kind = 'message' AND m.deleted_at IS NULL"
_RANGE = "(:since IS NULL OR m.sent_at >= :since) AND (:until IS NULL OR m.sent_at < :until)"


def list_people(conn: Connection) -> list[dict[str, Any]]:
    """Every live contact with its names, and its one-to-one chat (the busiest, if several) with its size."""
    return fetch_all(conn, f"""
        WITH direct AS (
            SELECT coalesce(pc.merged_into_id, pc.id) AS contact_id, ch.id AS chat_id, ch.message_count,
                   ch.last_message_at,
                   row_number() OVER (PARTITION BY coalesce(pc.merged_into_id, pc.id)
                                      ORDER BY ch.message_count DESC, ch.id) AS rn
            FROM chat_participants p
            JOIN chats ch ON ch.id = p.chat_id AND ch.is_group = 0
            JOIN contacts pc ON pc.id = p.contact_id
        )
        SELECT c.id AS contact_id, {label_sql("c")} AS name, c.first_name, c.last_name, c.nickname,
               (SELECT group_concat(ci.value, '|') FROM contact_identifiers ci WHERE ci.contact_id = c.id)
                   AS identifiers,
               d.chat_id, ifnull(d.message_count, 0) AS messages, d.last_message_at
        FROM contacts c
        LEFT JOIN direct d ON d.contact_id = c.id AND d.rn = 1
        WHERE c.merged_into_id IS NULL
    """)


def get_person(conn: Connection, *, contact_id: int) -> dict[str, Any] | None:
    return next((p for p in list_people(conn) if p["contact_id"] == contact_id), None)


def list_direct_chat_ids(conn: Connection, *, contact_id: int) -> list[int]:
    """The one-to-one chats with a contact (and with the contacts merged into it)."""
    return [row["id"] for row in fetch_all(conn, """
        SELECT DISTINCT ch.id FROM chat_participants p
        JOIN chats ch ON ch.id = p.chat_id AND ch.is_group = 0
        JOIN contacts pc ON pc.id = p.contact_id
        WHERE coalesce(pc.merged_into_id, pc.id) = :contact_id
        ORDER BY ch.id
    """, {"contact_id": contact_id})]


def latest_message(conn: Connection, *, chat_ids: list[int], since: int | None = None,
                   until: int | None = None, from_me: bool | None = None) -> dict[str, Any] | None:
    """The newest visible message of the chats in the range (optionally only mine / only theirs)."""
    if not chat_ids:
        return None
    marks = ", ".join(f":c{n}" for n in range(len(chat_ids)))
    mine = None if from_me is None else int(from_me)
    return fetch_one(conn, f"""
        SELECT m.id AS message_id, m.conversation_id, m.chat_id, m.sent_at, m.is_from_me, m.text,
               m.sender_contact_id,
               CASE WHEN m.is_from_me THEN 'Me'
                    ELSE coalesce({label_sql("sw")}, {label_sql("s")}, m.sender_handle) END AS sender
        FROM messages m
        LEFT JOIN contacts s ON s.id = m.sender_contact_id
        LEFT JOIN contacts sw ON sw.id = s.merged_into_id
        WHERE m.chat_id IN ({marks}) AND {VISIBLE} AND {_RANGE}
              AND (:from_me IS NULL OR m.is_from_me = :from_me)
        ORDER BY m.sent_at DESC, m.id DESC LIMIT 1
    """, {**{f"c{n}": c for n, c in enumerate(chat_ids)}, "since": since, "until": until, "from_me": mine})


def list_conversations(conn: Connection, *, chat_ids: list[int], since: int | None, until: int | None,
                       limit: int) -> list[dict[str, Any]]:
    """Conversations of the chats overlapping the range, newest first, with their latest summary and first
    visible message."""
    if not chat_ids:
        return []
    marks = ", ".join(f":c{n}" for n in range(len(chat_ids)))
    return fetch_all(conn, f"""
        SELECT v.id AS conversation_id, v.chat_id, v.started_at, v.last_message_at, v.message_count,
               (SELECT a.summary FROM conversation_analyses a
                WHERE a.conversation_id = v.id AND a.status = 'done' AND a.summary IS NOT NULL
                ORDER BY a.updated_at DESC, a.id DESC LIMIT 1) AS summary,
               f.id AS first_message_id, f.text AS first_text
        FROM conversations v
        LEFT JOIN messages f ON f.id = (SELECT m.id FROM messages m WHERE m.conversation_id = v.id AND {VISIBLE}
                                        ORDER BY m.sent_at, m.id LIMIT 1)
        WHERE v.chat_id IN ({marks})
              AND (:since IS NULL OR v.last_message_at >= :since) AND (:until IS NULL OR v.started_at < :until)
        ORDER BY v.last_message_at DESC, v.id DESC
        LIMIT :limit
    """, {**{f"c{n}": c for n, c in enumerate(chat_ids)}, "since": since, "until": until, "limit": limit})


def count_messages(conn: Connection, *, chat_ids: list[int], since: int | None,
                   until: int | None) -> dict[str, int]:
    """Visible messages of the chats in the range: total and sent by me."""
    if not chat_ids:
        return {"total": 0, "sent": 0}
    marks = ", ".join(f":c{n}" for n in range(len(chat_ids)))
    row = fetch_one(conn, f"""
        SELECT count(*) AS total, ifnull(sum(m.is_from_me), 0) AS sent FROM messages m
        WHERE m.chat_id IN ({marks}) AND {VISIBLE} AND {_RANGE}
    """, {**{f"c{n}": c for n, c in enumerate(chat_ids)}, "since": since, "until": until})
    return {"total": int(row["total"]), "sent": int(row["sent"])} if row else {"total": 0, "sent": 0}


def get_conversation_analysis(conn: Connection, *, conversation_id: int) -> dict[str, Any] | None:
    """The conversation's latest finished analysis (the full pass preferred over the live one)."""
    return fetch_one(conn, """
        SELECT id, model, summary FROM conversation_analyses
        WHERE conversation_id = :cid AND status = 'done'
        ORDER BY pass_name = 'basic' DESC, updated_at DESC, id DESC LIMIT 1
    """, {"cid": conversation_id})


def list_analysis_topics(conn: Connection, *, analysis_id: int) -> list[str]:
    return [row["topic"] for row in fetch_all(conn, """
        SELECT topic FROM topics WHERE analysis_id = :aid AND participant IS NULL ORDER BY weight DESC, topic
    """, {"aid": analysis_id})]


def list_conversation_commitments(conn: Connection, *, conversation_id: int) -> list[dict[str, Any]]:
    return fetch_all(conn, """
        SELECT id, text, message_id, committed_by, is_from_me FROM commitments
        WHERE conversation_id = :cid ORDER BY id
    """, {"cid": conversation_id})


def conversation_exists(conn: Connection, *, conversation_id: int) -> bool:
    return fetch_one(conn, "SELECT 1 AS found FROM conversations WHERE id = :cid", {"cid": conversation_id}) is not None

"""SQL of analysis results as the insights API reads them: every join and aggregate happens here.

Only analyses with status 'done' count. Times are unix ms; timeline buckets are UTC dates.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from backend.contacts.repo import label_sql
from backend.db.session import fetch_all, fetch_one

# Messages as the chat list counts them: visible ones, tapbacks and system items left out.
_VISIBLE = "m.kind = 'message' AND m.deleted_at IS NULL"

# SQLite date modifiers giving the UTC date that starts a message's bucket (weeks start on Monday).
BUCKETS = {
    "day": "date(m.sent_at / 1000, 'unixepoch')",
    "week": "date(m.sent_at / 1000, 'unixepoch', 'weekday 0', '-6 days')",
}


def get_chat(conn: Connection, *, chat_id: int) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT id, display_name, is_group FROM chats WHERE id = :chat_id", {"chat_id": chat_id})


def get_conversation(conn: Connection, *, conversation_id: int) -> dict[str, Any] | None:
    return fetch_one(conn, """
        SELECT id, chat_id, started_at, last_message_at, message_count, state
        FROM conversations WHERE id = :conversation_id
    """, {"conversation_id": conversation_id})


def list_latest_summaries(conn: Connection, *, chat_id: int, limit: int) -> list[dict[str, Any]]:
    """The chat's most recent analysed conversations, newest first, each with its latest summary."""
    return fetch_all(conn, """
        SELECT conversation_id, started_at, last_message_at, message_count, pass_name, model, summary, updated_at
        FROM (
            SELECT a.conversation_id, c.started_at, c.last_message_at, c.message_count, a.pass_name, a.model,
                   a.summary, a.updated_at,
                   row_number() OVER (PARTITION BY a.conversation_id ORDER BY a.updated_at DESC, a.id DESC) AS rn
            FROM conversation_analyses a
            JOIN conversations c ON c.id = a.conversation_id
            WHERE a.chat_id = :chat_id AND a.status = 'done' AND a.summary IS NOT NULL
        )
        WHERE rn = 1
        ORDER BY last_message_at DESC, conversation_id DESC
        LIMIT :limit
    """, {"chat_id": chat_id, "limit": limit})


def list_top_topics(conn: Connection, *, chat_id: int, limit: int) -> list[dict[str, Any]]:
    """Whole-conversation topics (participant NULL), weights summed over the chat's analyses."""
    return fetch_all(conn, """
        SELECT t.topic, round(sum(t.weight), 4) AS weight, count(DISTINCT t.conversation_id) AS conversations
        FROM topics t
        JOIN conversation_analyses a ON a.id = t.analysis_id AND a.status = 'done'
          AND (a.pass_name = 'basic' OR (a.pass_name = 'basic_live' AND NOT EXISTS (
              SELECT 1 FROM conversation_analyses b
              WHERE b.conversation_id = a.conversation_id AND b.pass_name = 'basic' AND b.status = 'done')))
        WHERE t.chat_id = :chat_id AND t.participant IS NULL
        GROUP BY t.topic
        ORDER BY weight DESC, conversations DESC, t.topic
        LIMIT :limit
    """, {"chat_id": chat_id, "limit": limit})


def list_participant_emotions(conn: Connection, *, chat_id: int) -> list[dict[str, Any]]:
    """Per participant and emotion: the mean score over the conversations where it was scored (> 0)."""
    return fetch_all(conn, """
        SELECT e.participant, e.contact_id, e.emotion, round(avg(e.score), 4) AS score,
               count(DISTINCT e.conversation_id) AS conversations
        FROM emotions e
        JOIN conversation_analyses a ON a.id = e.analysis_id AND a.status = 'done'
          AND (a.pass_name = 'basic' OR (a.pass_name = 'basic_live' AND NOT EXISTS (
              SELECT 1 FROM conversation_analyses b
              WHERE b.conversation_id = a.conversation_id AND b.pass_name = 'basic' AND b.status = 'done')))
        WHERE e.chat_id = :chat_id
        GROUP BY e.participant, e.contact_id, e.emotion
        ORDER BY e.participant, e.contact_id, score DESC, e.emotion
    """, {"chat_id": chat_id})


def list_top_entities(conn: Connection, *, chat_id: int, limit: int) -> list[dict[str, Any]]:
    """Entities by mentions summed over the chat's analyses (text compared without case)."""
    return fetch_all(conn, """
        SELECT e.kind, min(e.text) AS text, sum(e.mentions) AS mentions,
               count(DISTINCT e.conversation_id) AS conversations
        FROM entities e
        JOIN conversation_analyses a ON a.id = e.analysis_id AND a.status = 'done'
          AND (a.pass_name = 'basic' OR (a.pass_name = 'basic_live' AND NOT EXISTS (
              SELECT 1 FROM conversation_analyses b
              WHERE b.conversation_id = a.conversation_id AND b.pass_name = 'basic' AND b.status = 'done')))
        WHERE e.chat_id = :chat_id
        GROUP BY e.kind, e.text COLLATE NOCASE
        ORDER BY mentions DESC, conversations DESC, text
        LIMIT :limit
    """, {"chat_id": chat_id, "limit": limit})


_HUMOR_SELECT = """
    SELECT h.id, h.analysis_id, h.conversation_id, h.message_id, h.participant, h.contact_id, h.text,
           h.reason AS reason_json, h.laughed_by AS laughed_by_json, m.text AS message_text, m.sent_at
    FROM humor_items h
    JOIN conversation_analyses a ON a.id = h.analysis_id AND a.status = 'done'
      AND (a.pass_name = 'basic' OR (a.pass_name = 'basic_live' AND NOT EXISTS (
          SELECT 1 FROM conversation_analyses b
          WHERE b.conversation_id = a.conversation_id AND b.pass_name = 'basic' AND b.status = 'done')))
    LEFT JOIN messages m ON m.id = h.message_id
"""


def list_chat_humor(conn: Connection, *, chat_id: int, limit: int) -> list[dict[str, Any]]:
    """The chat's humour items, newest message first, with the message's own text."""
    return fetch_all(conn, f"""{_HUMOR_SELECT}
        WHERE h.chat_id = :chat_id
        ORDER BY m.sent_at IS NULL, m.sent_at DESC, h.id DESC
        LIMIT :limit
    """, {"chat_id": chat_id, "limit": limit})


def list_activity(conn: Connection, *, chat_id: int, bucket: str, since: int | None) -> list[dict[str, Any]]:
    """Visible messages of the chat per UTC day or week (the bucket's first date), oldest first."""
    return fetch_all(conn, f"""
        SELECT {BUCKETS[bucket]} AS bucket, count(*) AS messages, sum(m.is_from_me) AS sent
        FROM messages m
        WHERE m.chat_id = :chat_id AND {_VISIBLE} AND (:since IS NULL OR m.sent_at >= :since)
        GROUP BY bucket
        ORDER BY bucket
    """, {"chat_id": chat_id, "since": since})


def list_chats_by_volume(conn: Connection, *, since: int, limit: int) -> list[dict[str, Any]]:
    """Chats with visible messages since `since`, most messages first; a name from its participants."""
    return fetch_all(conn, f"""
        SELECT c.id AS chat_id, c.display_name AS chat_name, c.is_group,
               (SELECT group_concat(name, ', ') FROM (
                    SELECT DISTINCT coalesce({label_sql("w")}, {label_sql("pc")}) AS name
                    FROM chat_participants p
                    JOIN contacts pc ON pc.id = p.contact_id
                    LEFT JOIN contacts w ON w.id = pc.merged_into_id
                    WHERE p.chat_id = c.id ORDER BY name COLLATE NOCASE)) AS participants,
               count(*) AS messages, sum(m.is_from_me) AS sent, max(m.sent_at) AS last_message_at
        FROM messages m
        JOIN chats c ON c.id = m.chat_id
        WHERE m.sent_at >= :since AND {_VISIBLE}
        GROUP BY c.id
        ORDER BY messages DESC, last_message_at DESC, c.id
        LIMIT :limit
    """, {"since": since, "limit": limit})


def list_conversation_analyses(conn: Connection, *, conversation_id: int) -> list[dict[str, Any]]:
    return fetch_all(conn, """
        SELECT id, pass_name, model, prompt_id, prompt_version, revision, status, summary, result AS result_json,
               tokens_in, tokens_out, cost_usd, created_at, updated_at
        FROM conversation_analyses WHERE conversation_id = :conversation_id
        ORDER BY pass_name
    """, {"conversation_id": conversation_id})


def list_conversation_entities(conn: Connection, *, conversation_id: int) -> list[dict[str, Any]]:
    return fetch_all(conn, """
        SELECT id, analysis_id, message_id, participant, contact_id, kind, text, value, mentions
        FROM entities WHERE conversation_id = :conversation_id ORDER BY analysis_id, id
    """, {"conversation_id": conversation_id})


def list_conversation_topics(conn: Connection, *, conversation_id: int) -> list[dict[str, Any]]:
    return fetch_all(conn, """
        SELECT id, analysis_id, participant, contact_id, topic, weight
        FROM topics WHERE conversation_id = :conversation_id
        ORDER BY analysis_id, participant IS NOT NULL, participant, weight DESC, id
    """, {"conversation_id": conversation_id})


def list_conversation_emotions(conn: Connection, *, conversation_id: int) -> list[dict[str, Any]]:
    return fetch_all(conn, """
        SELECT id, analysis_id, participant, contact_id, emotion, score
        FROM emotions WHERE conversation_id = :conversation_id
        ORDER BY analysis_id, participant, score DESC, id
    """, {"conversation_id": conversation_id})


def list_conversation_humor(conn: Connection, *, conversation_id: int) -> list[dict[str, Any]]:
    return fetch_all(conn, """
        SELECT h.id, h.analysis_id, h.conversation_id, h.message_id, h.participant, h.contact_id, h.text,
               h.reason AS reason_json, h.laughed_by AS laughed_by_json, m.text AS message_text, m.sent_at
        FROM humor_items h LEFT JOIN messages m ON m.id = h.message_id
        WHERE h.conversation_id = :conversation_id
        ORDER BY h.analysis_id, h.id
    """, {"conversation_id": conversation_id})

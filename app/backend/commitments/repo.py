"""SQL of commitments and their events.

A snoozed commitment whose `snoozed_until` has passed is active again: `effective_status` says so,
computed in SQL against the caller's clock, without a job having to wake it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from backend.db.session import execute, fetch_all, fetch_one, fetch_value

_EFFECTIVE = """CASE WHEN k.status = 'snoozed' AND ifnull(k.snoozed_until, 0) <= :now THEN 'active'
                     ELSE k.status END"""

_SELECT = f"""
    SELECT k.id, k.chat_id, k.conversation_id, k.message_id, k.committed_by, k.committer_contact_id,
           k.is_from_me, k.committed_to AS committed_to_json, k.text, k.due_at, k.due_text, k.confidence,
           k.status, {_EFFECTIVE} AS effective_status, k.snoozed_until, k.created_at, k.updated_at,
           m.text AS message_text, m.sent_at AS message_sent_at
    FROM commitments k
    LEFT JOIN messages m ON m.id = k.message_id
"""


def get(conn: Connection, *, commitment_id: int, now_ms: int) -> dict[str, Any] | None:
    return fetch_one(conn, f"{_SELECT} WHERE k.id = :id", {"id": commitment_id, "now": now_ms})


def list_commitments(conn: Connection, *, status: str | None, chat_id: int | None, now_ms: int,
                     limit: int) -> list[dict[str, Any]]:
    """By effective status (None: all), active first; within a status, due soonest first, undated last."""
    return fetch_all(conn, f"""
        SELECT * FROM ({_SELECT}
            WHERE (:chat_id IS NULL OR k.chat_id = :chat_id))
        WHERE :status IS NULL OR effective_status = :status
        ORDER BY CASE effective_status WHEN 'active' THEN 0 WHEN 'snoozed' THEN 1 WHEN 'complete' THEN 2 ELSE 3 END,
                 due_at IS NULL, due_at, id
        LIMIT :limit
    """, {"status": status, "chat_id": chat_id, "now": now_ms, "limit": limit})


def update_status(conn: Connection, *, commitment_id: int, status: str, snoozed_until: int | None,
                  now_ms: int) -> int:
    return execute(conn, """
        UPDATE commitments SET status = :status, snoozed_until = :snoozed_until, updated_at = :now
        WHERE id = :id
    """, {"id": commitment_id, "status": status, "snoozed_until": snoozed_until, "now": now_ms})


def create_event(conn: Connection, *, commitment_id: int, event: str, details: dict[str, Any], now_ms: int) -> int:
    return fetch_value(conn, """
        INSERT INTO commitment_events (commitment_id, event, at, details) VALUES (:id, :event, :now, :details)
        RETURNING id
    """, {"id": commitment_id, "event": event, "now": now_ms, "details": json.dumps(details)})


def list_events(conn: Connection, *, commitment_id: int) -> list[dict[str, Any]]:
    return fetch_all(conn, """
        SELECT id, event, at, details AS details_json FROM commitment_events
        WHERE commitment_id = :id ORDER BY at, id
    """, {"id": commitment_id})


def list_open_before(conn: Connection, *, chat_id: int, conversation_id: int, now_ms: int, window_ms: int,
                     limit: int) -> list[dict[str, Any]]:
    """Active or snoozed commitments of the chat made in conversations that ended before this one began,
    within `window_ms` of its start, newest first, at most `limit` (what this conversation may have kept,
    cancelled or moved; older promises are left to the user)."""
    return fetch_all(conn, f"""
        SELECT k.id, k.message_id, k.committed_by, k.committed_to AS committed_to_json, k.text, k.due_at,
               {_EFFECTIVE} AS effective_status
        FROM commitments k JOIN conversations c ON c.id = k.conversation_id
        WHERE k.chat_id = :chat AND k.status IN ('active', 'snoozed') AND k.conversation_id != :conversation
          AND c.last_message_at < (SELECT started_at FROM conversations WHERE id = :conversation)
          AND c.last_message_at >= (SELECT started_at FROM conversations WHERE id = :conversation) - :window
        ORDER BY k.id DESC LIMIT :limit
    """, {"chat": chat_id, "conversation": conversation_id, "now": now_ms, "window": window_ms,
          "limit": limit})


def update_due(conn: Connection, *, commitment_id: int, due_at: int | None, now_ms: int) -> int:
    return execute(conn, "UPDATE commitments SET due_at = :due, updated_at = :now WHERE id = :id",
                   {"id": commitment_id, "due": due_at, "now": now_ms})

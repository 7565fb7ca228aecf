"""SQL of the live passes: their incremental state (`live_pass_state`) and the message lookups they need."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from backend.db.session import execute, fetch_all, fetch_one


def message_conversation_id(conn: Connection, *, message_id: int) -> int | None:
    row = fetch_one(conn, "SELECT conversation_id FROM messages WHERE id = :id", {"id": message_id})
    return row["conversation_id"] if row else None


def message_sent_at(conn: Connection, *, conversation_id: int) -> dict[int, int]:
    return {r["id"]: r["sent_at"] for r in fetch_all(
        conn, "SELECT id, sent_at FROM messages WHERE conversation_id = :c", {"c": conversation_id})}


def get_state(conn: Connection, *, conversation_id: int, pass_name: str) -> dict[str, Any] | None:
    row = fetch_one(conn, "SELECT * FROM live_pass_state WHERE conversation_id = :c AND pass_name = :p",
                    {"c": conversation_id, "p": pass_name})
    return {**row, "result": json.loads(row["result"])} if row else None


def upsert_state(conn: Connection, *, state: dict[str, Any], now_ms: int) -> None:
    execute(conn, """
        INSERT INTO live_pass_state (conversation_id, pass_name, last_message_id, last_sent_at, result, model,
            runs, messages_analysed, updated_at)
        VALUES (:conversation_id, :pass_name, :last_message_id, :last_sent_at, :result, :model, 1, :messages, :now)
        ON CONFLICT (conversation_id, pass_name) DO UPDATE SET
            last_message_id = excluded.last_message_id, last_sent_at = excluded.last_sent_at,
            result = excluded.result, model = excluded.model, runs = live_pass_state.runs + 1,
            messages_analysed = live_pass_state.messages_analysed + excluded.messages_analysed,
            updated_at = excluded.updated_at
    """, {**state, "result": json.dumps(state["result"], ensure_ascii=False), "now": now_ms})

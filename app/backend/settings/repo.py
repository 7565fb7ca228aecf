"""SQL of the app_settings table. Values are stored as JSON text."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from backend.db.clock import now_ms
from backend.db.session import execute, fetch_all, fetch_one


def get(conn: Connection, *, key: str) -> Any:
    row = fetch_one(conn, "SELECT value FROM app_settings WHERE key = :key", {"key": key})
    return json.loads(row["value"]) if row else None


def list_settings(conn: Connection) -> dict[str, Any]:
    rows = fetch_all(conn, "SELECT key, value FROM app_settings ORDER BY key")
    return {row["key"]: json.loads(row["value"]) for row in rows}


def update(conn: Connection, *, key: str, value: Any) -> None:
    execute(
        conn,
        """
        INSERT INTO app_settings (key, value, updated_at) VALUES (:key, :value, :now)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
        """,
        {"key": key, "value": json.dumps(value), "now": now_ms()},
    )


def ensure_default(conn: Connection, *, key: str, value: Any) -> bool:
    """Insert a default unless the key exists; True when inserted. Never overwrites a user's choice."""
    return (
        execute(
            conn,
            """
            INSERT INTO app_settings (key, value, updated_at) VALUES (:key, :value, :now)
            ON CONFLICT (key) DO NOTHING
            """,
            {"key": key, "value": json.dumps(value), "now": now_ms()},
        )
        > 0
    )

"""Known answers for the tools, computed here with plain SQL on central.db (not through the backend)."""

from __future__ import annotations

import sqlite3
from typing import Any

from backend.config import get_settings
from backend.db.engine import get_engine

VISIBLE = "m.kind = 'message' AND m.deleted_at IS NULL"


def db() -> sqlite3.Connection:
    conn = sqlite3.connect(get_settings().central_db_path)
    conn.row_factory = sqlite3.Row
    return conn


def engine() -> Any:
    return get_engine(get_settings().central_db_path)


def direct_people() -> list[dict[str, Any]]:
    """Named contacts with a one-to-one chat, most visible messages in it first."""
    with db() as conn:
        return [dict(r) for r in conn.execute(f"""
            SELECT c.id AS contact_id, c.display_name AS name, c.first_name, ch.id AS chat_id,
                   count(m.id) AS messages, ifnull(sum(m.is_from_me), 0) AS sent, max(m.sent_at) AS last_at
            FROM chat_participants p
            JOIN chats ch ON ch.id = p.chat_id AND ch.is_group = 0
            JOIN contacts c ON c.id = p.contact_id AND c.merged_into_id IS NULL
            LEFT JOIN messages m ON m.chat_id = ch.id AND {VISIBLE}
            WHERE c.display_name IS NOT NULL
            GROUP BY c.id ORDER BY messages DESC, c.id""")]


def unique_first_name_person() -> dict[str, Any]:
    """The busiest person whose first name no other contact shares (a name the router can resolve alone)."""
    people = direct_people()
    with db() as conn:
        names = [r[0].split()[0].lower() for r in conn.execute(
            "SELECT display_name FROM contacts WHERE display_name IS NOT NULL AND merged_into_id IS NULL")]
    return next(p for p in people if names.count(p["name"].split()[0].lower()) == 1 and p["messages"] > 3)

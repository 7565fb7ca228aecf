"""Reading contacts: the live ones, with identifiers and activity; merged ids answer for their winner."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine

from backend.contacts import repo
from backend.contacts.exceptions import ContactNotFound
from backend.contacts.schemas import Contact, ContactPage, Identifier
from backend.db.session import session_scope


def like_pattern(q: str | None) -> str | None:
    """A LIKE pattern (ESCAPE '\\') matching `q` anywhere; None for an empty filter."""
    if q is None or not q.strip():
        return None
    escaped = q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contact(row: dict[str, Any]) -> Contact:
    identifiers = [Identifier(**item) for item in json.loads(row["identifiers_json"] or "[]")]
    return Contact(
        id=row["id"],
        display_name=row["display_name"] or (identifiers[0].value if identifiers else None),
        is_named=row["display_name"] is not None,
        first_name=row["first_name"],
        last_name=row["last_name"],
        nickname=row["nickname"],
        organization=row["organization"],
        identifiers=identifiers,
        chat_count=row["chat_count"],
        message_count=row["message_count"],
        last_message_at=row["last_message_at"],
        merged_contact_ids=json.loads(row["merged_ids_json"] or "[]"),
    )


def list_contacts(engine: Engine, *, q: str | None = None, limit: int = 50, offset: int = 0) -> ContactPage:
    with session_scope(engine) as conn:
        rows = repo.list_contacts(conn, q_like=like_pattern(q), limit=limit + 1, offset=offset)
    more = len(rows) > limit
    return ContactPage(contacts=[_contact(row) for row in rows[:limit]], next_offset=offset + limit if more else None)


def get_contact(engine: Engine, contact_id: int) -> Contact:
    """The contact, or the live contact it was merged into."""
    with session_scope(engine) as conn:
        live_id = repo.get_live_id(conn, contact_id=contact_id)
        row = repo.get(conn, contact_id=live_id) if live_id is not None else None
    if row is None:
        raise ContactNotFound(f"No contact {contact_id}; GET /api/contacts lists them.", contact_id=contact_id)
    return _contact(row)

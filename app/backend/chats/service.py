"""The inbox: chats with names people recognise, their participants, last message and unread counts."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, Engine

from backend.chats import repo
from backend.chats.exceptions import ChatNotFound, InvalidCursor
from backend.chats.schemas import Chat, ChatPage, Participant
from backend.contacts.schemas import Identifier
from backend.contacts.service import like_pattern
from backend.db.session import session_scope
from backend.messages import service as messages
from backend.messages.schemas import MessagePage

_CURSOR = re.compile(r"^(-?\d+)(?::(\d+))?$")
GROUP_NAMES_SHOWN = 2


def parse_cursor(cursor: str | None) -> tuple[int, int] | None:
    """A keyset cursor "<ms>:<id>" (as next_before gives it), or a bare "<ms>" meaning strictly older."""
    if cursor is None or cursor == "":
        return None
    match = _CURSOR.match(cursor.strip())
    if match is None:
        raise InvalidCursor(f"Cannot read cursor {cursor!r}: pass next_before from the previous page, "
                            "or a time in unix milliseconds.", cursor=cursor)
    return int(match.group(1)), int(match.group(2)) if match.group(2) is not None else -1


def format_cursor(at: int | None, id_: int) -> str:
    return f"{at or 0}:{id_}"


def group_label(names: list[str]) -> str:
    """"A", "A and B", "A, B and C", "A, B and 3 others" (Messages' style)."""
    if not names:
        return "Group"
    if len(names) == 1:
        return names[0]
    if len(names) <= GROUP_NAMES_SHOWN + 1:
        return ", ".join(names[:-1]) + " and " + names[-1]
    rest = len(names) - GROUP_NAMES_SHOWN
    return ", ".join(names[:GROUP_NAMES_SHOWN]) + f" and {rest} other{'s' if rest != 1 else ''}"


def _participants(conn: Connection, chat_ids: list[int]) -> dict[int, list[tuple[Participant, str | None]]]:
    """Per chat: (participant, short name) pairs; a contact listed twice after a merge appears once."""
    by_chat: dict[int, list[tuple[Participant, str | None]]] = defaultdict(list)
    seen: set[tuple[int, int]] = set()
    for row in repo.list_participants(conn, chat_ids=chat_ids):
        if (row["chat_id"], row["contact_id"]) in seen:
            continue
        seen.add((row["chat_id"], row["contact_id"]))
        participant = Participant(
            id=row["contact_id"],
            display_name=row["label"],
            identifiers=[Identifier(**item) for item in json.loads(row["identifiers_json"] or "[]")],
            is_active=row["is_active"],
        )
        by_chat[row["chat_id"]].append((participant, row["first_name"] or row["label"]))
    return by_chat


def _display_name(row: dict[str, Any], people: list[tuple[Participant, str | None]]) -> str:
    if row["display_name"]:
        return row["display_name"]
    if not row["is_group"]:
        partner = people[0][0].display_name if people else None
        return partner or row["chat_identifier"] or "Unknown"
    active = [short for participant, short in people if participant.is_active and short] or [
        short for _, short in people if short
    ]
    return group_label(active)


def _chats(conn: Connection, rows: list[dict[str, Any]]) -> list[Chat]:
    """Shape chat rows: two more queries for the whole page (participants, last messages)."""
    ids = [row["id"] for row in rows]
    people = _participants(conn, ids)
    last = messages.previews(conn, message_ids=[row["last_message_id"] for row in rows])
    return [
        Chat(
            id=row["id"],
            display_name=_display_name(row, people.get(row["id"], [])),
            is_named=bool(row["display_name"]),
            is_group=row["is_group"],
            service=row["service"],
            participants=[participant for participant, _ in people.get(row["id"], [])],
            last_message=last.get(row["last_message_id"]),
            last_message_at=row["last_message_at"],
            unread_count=row["unread_count"],
            message_count=row["message_count"],
        )
        for row in rows
    ]


def list_chats(engine: Engine, *, limit: int = 50, before: str | None = None, q: str | None = None) -> ChatPage:
    """Chats by latest activity, `limit` at a time; `before` is the previous page's `next_before`."""
    keyset = parse_cursor(before)
    with session_scope(engine) as conn:
        rows = repo.list_chats(conn, before=keyset, q_like=like_pattern(q), limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        chats = _chats(conn, rows)
    next_before = format_cursor(rows[-1]["last_message_at"], rows[-1]["id"]) if more else None
    return ChatPage(chats=chats, next_before=next_before)


def require_chat(conn: Connection, chat_id: int) -> dict[str, Any]:
    """The chat's row, or ChatNotFound."""
    row = repo.get(conn, chat_id=chat_id)
    if row is None:
        raise ChatNotFound(f"No chat {chat_id}; GET /api/chats lists them.", chat_id=chat_id)
    return row


def get_chat(engine: Engine, chat_id: int) -> Chat:
    with session_scope(engine) as conn:
        return _chats(conn, [require_chat(conn, chat_id)])[0]


def list_chat_messages(
    engine: Engine, chat_id: int, *, limit: int = 50, before_id: int | None = None, after_id: int | None = None,
    around_id: int | None = None,
) -> MessagePage:
    """A page of the chat's messages: newest first, oldest first after `after_id`, or around `around_id`."""
    with session_scope(engine) as conn:
        require_chat(conn, chat_id)
        return messages.page_chat_messages(conn, chat_id=chat_id, limit=limit, before_id=before_id,
                                           after_id=after_id, around_id=around_id)

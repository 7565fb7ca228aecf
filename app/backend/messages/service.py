"""Shaping messages for the API. The connection-level functions are what chats and conversations
call (inside their own read transaction); `get_message` is the route's entry point."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine

from backend.db.session import session_scope
from backend.messages import repo
from backend.messages.exceptions import InvalidMessageCursor, MessageNotFound
from backend.messages.schemas import (
    Attachment,
    Message,
    MessageDetail,
    MessageEdit,
    MessagePage,
    MessagePreview,
    Reaction,
    Sender,
)

PREVIEW_CHARS = 120
INLINE_ATTACHMENT_MARK = "\ufffc"  # where Messages places an attachment inside the text
TAPBACK_EMOJI = {
    "love": "❤️", "like": "👍", "dislike": "👎", "laugh": "😂", "emphasize": "‼️", "question": "❓",
}


def _extras(body_json: str | None) -> dict[str, Any]:
    try:
        extras = json.loads(body_json) if body_json else {}
    except ValueError:
        extras = {}
    return extras if isinstance(extras, dict) else {}


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _reaction(item: dict[str, Any]) -> Reaction:
    return Reaction(**{**item, "emoji": item["emoji"] or TAPBACK_EMOJI.get(item["kind"])})


def to_message(row: dict[str, Any]) -> Message:
    """A row of the repo's message SELECT as the API's Message."""
    extras = _extras(row["body_json"])
    sender = None
    if not row["is_from_me"]:
        sender = Sender(contact_id=row["sender_contact_id"], name=row["sender_name"], handle=row["sender_handle"])
    return Message(
        **{key: row[key] for key in (
            "id", "guid", "chat_id", "conversation_id", "sent_at", "is_from_me", "service", "text", "subject",
            "kind", "group_title", "edited_at", "edit_count", "is_unsent", "deleted_at", "reply_to_guid",
            "reply_to_part", "effect", "balloon_bundle_id", "is_read", "read_at", "delivered_at", "is_audio",
            "decode_error",
        )},
        sender=sender,
        deleted=row["deleted_at"] is not None,
        reactions=[_reaction(item) for item in json.loads(row["reactions_json"] or "[]")],
        attachments=[Attachment(**item) for item in json.loads(row["attachments_json"] or "[]")],
        links=_strings(extras.get("links")),
        mentions=_strings(extras.get("mentions")),
        one_time_code=extras.get("one_time_code"),
        audio_transcription=extras.get("audio_transcription"),
    )


def preview_text(text: str | None, limit: int = PREVIEW_CHARS) -> str | None:
    """One line of text: inline attachment marks removed, whitespace folded, cut at `limit` with '…'."""
    if text is None:
        return None
    line = " ".join(text.replace(INLINE_ATTACHMENT_MARK, " ").split())
    if not line:
        return None
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def previews(conn: Connection, *, message_ids: list[int]) -> dict[int, MessagePreview]:
    """Previews of the given messages by id, in one query."""
    ids = sorted({i for i in message_ids if i is not None})
    if not ids:
        return {}
    return {
        row["id"]: MessagePreview(
            id=row["id"],
            text=preview_text(row["text"]),
            sent_at=row["sent_at"],
            is_from_me=row["is_from_me"],
            sender_contact_id=None if row["is_from_me"] else row["sender_contact_id"],
            sender_name=None if row["is_from_me"] else row["sender_name"],
            kind=row["kind"],
            has_attachments=row["has_attachments"],
            is_unsent=row["is_unsent"],
            deleted=row["deleted_at"] is not None,
        )
        for row in repo.list_previews(conn, message_ids=ids)
    }


def _anchor(conn: Connection, message_id: int, *, name: str, chat_id: int | None = None,
            conversation_id: int | None = None) -> tuple[int, int]:
    position = repo.get_position(conn, message_id=message_id)
    if (
        position is None
        or (chat_id is not None and position["chat_id"] != chat_id)
        or (conversation_id is not None and position["conversation_id"] != conversation_id)
    ):
        raise InvalidMessageCursor(f"{name}={message_id} is not a message of this list; use an id from it.",
                                   **{name: message_id})
    return position["sent_at"], position["id"]


def page_chat_messages(
    conn: Connection, *, chat_id: int, limit: int, before_id: int | None = None, after_id: int | None = None,
    around_id: int | None = None,
) -> MessagePage:
    """Newest first (older than `before_id` when given), or oldest first after `after_id` (catching up), or
    newest first around `around_id` (a search hit opened in its chat)."""
    if sum(cursor is not None for cursor in (before_id, after_id, around_id)) > 1:
        raise InvalidMessageCursor("Give one of before_id, after_id and around_id.")
    if around_id is not None:
        return _page_around(conn, chat_id=chat_id, limit=limit, around_id=around_id)
    if after_id is not None:
        after = _anchor(conn, after_id, name="after_id", chat_id=chat_id)
        rows = repo.list_chat_messages_after(conn, chat_id=chat_id, after=after, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return MessagePage(messages=[to_message(r) for r in rows], next_before_id=None,
                           next_after_id=rows[-1]["id"] if more else None)
    before = _anchor(conn, before_id, name="before_id", chat_id=chat_id) if before_id is not None else None
    rows = repo.list_chat_messages_before(conn, chat_id=chat_id, before=before, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return MessagePage(messages=[to_message(r) for r in rows],
                       next_before_id=rows[-1]["id"] if more else None, next_after_id=None)


def _page_around(conn: Connection, *, chat_id: int, limit: int, around_id: int) -> MessagePage:
    """The message, up to half of `limit` newer ones and the rest older, newest first; both cursors set
    where more messages lie beyond (before_id continues older, after_id newer)."""
    anchor = _anchor(conn, around_id, name="around_id", chat_id=chat_id)
    newer_wanted = (limit - 1) // 2
    newer = repo.list_chat_messages_after(conn, chat_id=chat_id, after=anchor, limit=newer_wanted + 1)
    older_wanted = limit - 1 - min(len(newer), newer_wanted)  # room newer ones leave goes to older ones
    older = repo.list_chat_messages_before(conn, chat_id=chat_id, before=anchor, limit=older_wanted + 1)
    more_newer, more_older = len(newer) > newer_wanted, len(older) > older_wanted
    newer, older = newer[:newer_wanted], older[:older_wanted]
    rows = [*reversed(newer), repo.get(conn, message_id=around_id), *older]
    return MessagePage(messages=[to_message(r) for r in rows],
                       next_before_id=older[-1]["id"] if more_older and older else None,
                       next_after_id=newer[-1]["id"] if more_newer and newer else None)


def page_conversation_messages(
    conn: Connection, *, conversation_id: int, limit: int, after_id: int | None = None
) -> MessagePage:
    """A conversation's messages oldest first; `next_after_id` continues a long one."""
    after = (_anchor(conn, after_id, name="after_id", conversation_id=conversation_id)
             if after_id is not None else None)
    rows = repo.list_conversation_messages(conn, conversation_id=conversation_id, after=after, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return MessagePage(messages=[to_message(r) for r in rows], next_before_id=None,
                       next_after_id=rows[-1]["id"] if more else None)


def get_messages(engine: Engine, message_ids: list[int]) -> dict[int, Message]:
    """Many messages in one query (live streams shape bursts this way); missing ids are left out."""
    with session_scope(engine) as conn:
        rows = repo.list_by_ids(conn, message_ids=sorted(set(message_ids)))
    return {row["id"]: to_message(row) for row in rows}


def get_message(engine: Engine, message_id: int) -> MessageDetail:
    """One message with its edit history."""
    with session_scope(engine) as conn:
        row = repo.get(conn, message_id=message_id)
        edits = repo.list_edits(conn, message_id=message_id) if row is not None else []
    if row is None:
        raise MessageNotFound(f"No message {message_id}; list a chat's messages to find ids.",
                              message_id=message_id)
    message = to_message(row)
    return MessageDetail(**message.model_dump(), edits=[MessageEdit(**edit) for edit in edits])

"""Reading conversations: a chat's runs of messages, and one run with its messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine

from backend.chats import service as chats
from backend.conversations import repo
from backend.conversations.exceptions import ConversationNotFound
from backend.conversations.schemas import Conversation, ConversationDetail, ConversationPage
from backend.db.session import session_scope
from backend.messages import service as messages


def _conversations(conn: Connection, rows: list[dict[str, Any]]) -> list[Conversation]:
    first = messages.previews(conn, message_ids=[row["first_message_id"] for row in rows])
    return [
        Conversation(**{k: v for k, v in row.items() if k != "first_message_id"},
                     first_message=first.get(row["first_message_id"]))
        for row in rows
    ]


def list_chat_conversations(
    engine: Engine, chat_id: int, *, limit: int = 50, before: str | None = None
) -> ConversationPage:
    """A chat's conversations, newest first; `before` is the previous page's `next_before`."""
    keyset = chats.parse_cursor(before)
    with session_scope(engine) as conn:
        chats.require_chat(conn, chat_id)
        rows = repo.list_conversations(conn, chat_id=chat_id, before=keyset, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        conversations = _conversations(conn, rows)
    next_before = chats.format_cursor(rows[-1]["started_at"], rows[-1]["id"]) if more else None
    return ConversationPage(conversations=conversations, next_before=next_before)


def get_conversation(
    engine: Engine, conversation_id: int, *, limit: int = 1000, after_id: int | None = None
) -> ConversationDetail:
    """One conversation with its messages, oldest first (`limit` at a time)."""
    with session_scope(engine) as conn:
        row = repo.get(conn, conversation_id=conversation_id)
        if row is None:
            raise ConversationNotFound(f"No conversation {conversation_id}; "
                                       "GET /api/chats/{chat_id}/conversations lists them.",
                                       conversation_id=conversation_id)
        conversation = _conversations(conn, [row])[0]
        page = messages.page_conversation_messages(conn, conversation_id=conversation_id, limit=limit,
                                                   after_id=after_id)
    return ConversationDetail(**conversation.model_dump(), messages=page.messages,
                              next_after_id=page.next_after_id)

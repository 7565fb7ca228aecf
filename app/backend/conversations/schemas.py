from __future__ import annotations

from pydantic import BaseModel

from backend.messages.schemas import Message, MessagePreview


class Conversation(BaseModel):
    id: int
    chat_id: int
    started_at: int
    last_message_at: int
    message_count: int
    state: str  # open | sealed | ready | historic
    sealed_at: int | None
    first_message: MessagePreview | None


class ConversationPage(BaseModel):
    conversations: list[Conversation]
    next_before: str | None  # pass as `before` for the next (older) page


class ConversationDetail(Conversation):
    messages: list[Message]  # oldest first
    next_after_id: int | None  # more messages follow: pass as after_id

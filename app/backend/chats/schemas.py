from __future__ import annotations

from pydantic import BaseModel

from backend.contacts.schemas import Identifier
from backend.messages.schemas import MessagePreview


class Participant(BaseModel):
    id: int  # contact id
    display_name: str | None  # contact name, else first identifier
    identifiers: list[Identifier]
    is_active: bool  # still in the group


class Chat(BaseModel):
    id: int
    display_name: str  # the chat's name, the 1:1 partner's name, or "A, B and 3 others"
    is_named: bool  # the chat itself carries a name (a named group)
    is_group: bool
    service: str | None
    participants: list[Participant]
    last_message: MessagePreview | None
    last_message_at: int | None
    unread_count: int
    message_count: int


class ChatPage(BaseModel):
    chats: list[Chat]
    next_before: str | None  # pass as `before` for the next page; None on the last page

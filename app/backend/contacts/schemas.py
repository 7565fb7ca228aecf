from __future__ import annotations

from pydantic import BaseModel


class Identifier(BaseModel):
    kind: str  # phone | email | other
    value: str


class Contact(BaseModel):
    id: int
    display_name: str | None  # the AddressBook name, else the first identifier
    is_named: bool  # False for a bare handle nobody has named in Contacts
    first_name: str | None
    last_name: str | None
    nickname: str | None
    organization: str | None
    identifiers: list[Identifier]
    chat_count: int  # chats this person takes part in
    message_count: int  # messages this person sent
    last_message_at: int | None  # latest message (ms) in any chat this person takes part in
    merged_contact_ids: list[int]  # contacts that were merged into this one


class ContactPage(BaseModel):
    contacts: list[Contact]
    next_offset: int | None

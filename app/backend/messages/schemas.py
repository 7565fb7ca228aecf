from __future__ import annotations

from pydantic import BaseModel


class Sender(BaseModel):
    """Who sent a message; absent when the user sent it (is_from_me)."""

    contact_id: int | None  # None for a handle that resolved to no contact
    name: str | None  # contact name, else identifier, else the raw handle
    handle: str | None  # the chat.db handle the message came from


class Reaction(BaseModel):
    """An active tapback on a message (removed ones are left out)."""

    kind: str  # love | like | dislike | laugh | emphasize | question | emoji | sticker
    emoji: str | None  # the emoji of an emoji tapback; the classic tapbacks' emoji otherwise
    part: int  # which part of the message it targets
    is_from_me: bool
    sender_contact_id: int | None
    sender_name: str | None  # None when is_from_me
    reacted_at: int


class Attachment(BaseModel):
    id: int
    guid: str
    transfer_name: str | None
    mime_type: str | None
    uti: str | None
    total_bytes: int | None
    is_sticker: bool
    file_present: bool  # whether the file exists on this disk


class MessageEdit(BaseModel):
    part: int
    version: int  # 0 is the original text
    text: str | None
    edited_at: int | None


class Message(BaseModel):
    id: int
    guid: str
    chat_id: int
    conversation_id: int | None
    sent_at: int  # unix ms
    is_from_me: bool
    sender: Sender | None  # None when is_from_me
    service: str | None
    text: str | None  # may hold U+FFFC where attachments sit inline
    subject: str | None
    kind: str  # 'message' or a group event (rename, participant_change, ...)
    group_title: str | None  # the new name of a rename event
    edited_at: int | None
    edit_count: int  # edits beyond the original version, over all parts
    is_unsent: bool
    deleted: bool  # deleted in Messages (kept in the mirror)
    deleted_at: int | None
    reply_to_guid: str | None
    reply_to_part: str | None
    effect: str | None
    balloon_bundle_id: str | None
    is_read: bool
    read_at: int | None
    delivered_at: int | None
    is_audio: bool
    reactions: list[Reaction]
    attachments: list[Attachment]
    links: list[str]
    mentions: list[str]
    one_time_code: str | None
    audio_transcription: str | None
    decode_error: str | None  # the body could not be fully decoded


class MessageDetail(Message):
    edits: list[MessageEdit]  # every version of every part, oldest first


class MessagePage(BaseModel):
    messages: list[Message]
    next_before_id: int | None  # pass as before_id for the next older page; None when no older ones
    next_after_id: int | None  # (after_id pages) pass as after_id for the next newer page


class MessagePreview(BaseModel):
    """The line a list shows of one message."""

    id: int
    text: str | None  # trimmed to ~120 characters, inline attachment marks removed
    sent_at: int
    is_from_me: bool
    sender_contact_id: int | None
    sender_name: str | None  # None when is_from_me
    kind: str
    has_attachments: bool
    is_unsent: bool
    deleted: bool

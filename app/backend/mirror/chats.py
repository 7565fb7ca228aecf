"""Chats as the user sees them: chat.db chats with the same partner are one chat.

Messages shows a person's iMessage, SMS and RCS threads as one conversation; so do we. A 1:1
chat's key is its partner's contact key; a named group keeps its own identity (`group_id`); an
unnamed group is identified by its set of members, so an MMS group and an iMessage group of the
same people merge.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

ONE_TO_ONE_STYLE = 45
UNKNOWN_CHAT_KEY = "unknown:no-chat"


@dataclass(slots=True)
class ChatRow:
    key: str
    is_group: bool
    display_name: str | None
    service: str | None
    participant_keys: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class ChatSourceRow:
    source_guid: str
    source_rowid: int
    chat_key: str
    chat_identifier: str | None
    service: str | None
    style: int | None
    display_name: str | None
    group_id: str | None


@dataclass(slots=True)
class Chats:
    chats: dict[str, ChatRow]
    sources: list[ChatSourceRow]
    key_by_rowid: dict[int, str]


def chat_key(
    *, style: int | None, guid: str, group_id: str | None, display_name: str | None,
    participant_keys: list[str], identifier_key: str | None,
) -> str:
    """The identity of the chat a chat.db chat belongs to."""
    if style == ONE_TO_ONE_STYLE or (style is None and len(participant_keys) <= 1):
        partner = participant_keys[0] if participant_keys else identifier_key
        return f"dm:{partner}" if partner else f"chat:{guid}"
    if display_name or len(participant_keys) < 2:
        return f"group:{group_id or guid}"
    return "members:" + "|".join(sorted(participant_keys))


def resolve_chats(
    chat_rows: list[tuple],
    chat_handle_rows: list[tuple[int, int]],
    *,
    handle_key_by_rowid: dict[int, str],
    key_by_identifier: dict[str, str],
) -> Chats:
    """Group chat.db chats (rows of CHAT_COLUMNS) into chats, with their participants."""
    members: dict[int, list[str]] = defaultdict(list)
    for chat_rowid, handle_rowid in chat_handle_rows:
        key = handle_key_by_rowid.get(handle_rowid)
        if key is not None and key not in members[chat_rowid]:
            members[chat_rowid].append(key)

    chats: dict[str, ChatRow] = {}
    sources: list[ChatSourceRow] = []
    key_by_rowid: dict[int, str] = {}
    for rowid, guid, style, identifier, service, display_name, group_id in chat_rows:
        participant_keys = sorted(members.get(rowid, []))
        key = chat_key(
            style=style, guid=guid, group_id=group_id, display_name=display_name or None,
            participant_keys=participant_keys, identifier_key=key_by_identifier.get(identifier or ""),
        )
        chat = chats.get(key)
        if chat is None:
            chat = chats[key] = ChatRow(
                key=key, is_group=not key.startswith("dm:"), display_name=display_name or None, service=service
            )
        chat.participant_keys.update(participant_keys)
        if display_name and not chat.display_name:
            chat.display_name = display_name
        sources.append(ChatSourceRow(guid, rowid, key, identifier, service, style, display_name or None, group_id))
        key_by_rowid[rowid] = key
    return Chats(chats, sources, key_by_rowid)


def unknown_chat() -> ChatRow:
    """Where messages that reference no chat are kept (reported, never dropped)."""
    return ChatRow(key=UNKNOWN_CHAT_KEY, is_group=False, display_name="Messages without a chat", service=None)

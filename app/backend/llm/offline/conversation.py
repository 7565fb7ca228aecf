"""Reading the rendered prompt back: which prompt it is, and the JSON block its user message carries.

The prompts in app/eve/prompts/ open their system message with "[prompt: <id>]" and put their data in
the user message as one fenced ```json block (see each prompt's "Input" section). A conversation is
`{"participants": [{"name", "is_me"}], "contacts"?: [name], "messages": [{"id", "sender", "is_from_me",
"sent_at", "text", "reactions": [{"type", "sender", "emoji"?}]}]}`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from backend.errors import InvalidRequest

_PROMPT_MARK = re.compile(r"\[prompt:\s*([a-z0-9][a-z0-9-]*)\s*\]")
_FENCE = re.compile(r"```json[ \t]*\n")


class OfflineRequestInvalid(InvalidRequest):
    """The messages are not a rendered ChatStats prompt that the offline analyzer understands."""

    code = "offline_request_invalid"


@dataclass(frozen=True)
class Reaction:
    type: str
    sender: str
    emoji: str | None = None


@dataclass(frozen=True)
class Message:
    id: int | str
    sender: str
    is_from_me: bool
    sent_at: datetime
    text: str
    reactions: tuple[Reaction, ...] = ()


@dataclass(frozen=True)
class Participant:
    name: str
    is_me: bool


@dataclass(frozen=True)
class Conversation:
    participants: tuple[Participant, ...]
    messages: tuple[Message, ...]
    contacts: tuple[str, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        """Everyone who can be mentioned by name: participants, then the other contacts."""
        return [p.name for p in self.participants] + [c for c in self.contacts if c]


def prompt_id_of(messages: list[dict[str, Any]]) -> str:
    system = "\n".join(_content(m) for m in messages if m.get("role") == "system")
    match = _PROMPT_MARK.search(system)
    if not match:
        raise OfflineRequestInvalid(
            "The offline analyzer answers only ChatStats prompts: no '[prompt: <id>]' mark in the system "
            "message. Configure a real model for free-form requests."
        )
    return match.group(1)


def json_block(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The object in the first ```json fence of the last user message."""
    users = [_content(m) for m in messages if m.get("role") == "user"]
    if not users:
        raise OfflineRequestInvalid("No user message to analyse.")
    text = users[-1]
    fence = _FENCE.search(text)
    if not fence:
        raise OfflineRequestInvalid("The user message has no ```json block of data.")
    try:
        value, _ = json.JSONDecoder().raw_decode(text, fence.end())
    except json.JSONDecodeError as exc:
        raise OfflineRequestInvalid(f"The ```json block is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise OfflineRequestInvalid("The ```json block must hold a JSON object.")
    return value


def parse_conversation(data: dict[str, Any]) -> Conversation:
    try:
        messages = tuple(sorted((_message(m) for m in data.get("messages") or []), key=lambda m: m.sent_at))
        participants = [
            Participant(name=str(p["name"]), is_me=bool(p.get("is_me"))) for p in data.get("participants") or []
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise OfflineRequestInvalid(f"The conversation block is malformed: {exc!r}") from exc
    known = {p.name for p in participants}
    for message in messages:  # a sender missing from participants still gets an entry
        if message.sender not in known:
            participants.append(Participant(name=message.sender, is_me=message.is_from_me))
            known.add(message.sender)
    contacts = tuple(str(c) for c in data.get("contacts") or [] if str(c) not in known)
    return Conversation(participants=tuple(participants), messages=messages, contacts=contacts)


def _message(raw: dict[str, Any]) -> Message:
    reactions = tuple(
        Reaction(type=str(r.get("type", "")).lower(), sender=str(r.get("sender", "")), emoji=r.get("emoji"))
        for r in raw.get("reactions") or []
    )
    return Message(
        id=raw["id"], sender=str(raw["sender"]), is_from_me=bool(raw.get("is_from_me")),
        sent_at=parse_time(raw["sent_at"]), text=str(raw.get("text") or ""), reactions=reactions,
    )


def parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _content(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):  # OpenAI content parts
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)

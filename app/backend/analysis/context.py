"""The conversation as the prompts read it, built from the mirror (reads only).

`conversation_payload` returns the JSON object of the prompts' "Input" sections (see
app/eve/prompts/convo-all-v1.prompt.md): participants by name ("Me" for the user), messages oldest first
with their active tapbacks. `conversation_context` adds what persisting a result needs to map names back
to contacts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from backend.analysis import context_repo as repo
from backend.conversations.service import ConversationNotFound

ME = "Me"
PROMPT_REACTIONS = frozenset({"love", "like", "dislike", "laugh", "emphasize", "question", "emoji"})
MAX_MERGE_DEPTH = 16
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class ConversationContext:
    conversation_id: int
    chat_id: int
    revision: int
    payload: dict[str, Any]
    contact_ids: dict[str, int | None]  # participant name -> contact id (None for "Me" and unknown senders)

    @property
    def estimated_tokens(self) -> int:
        return estimate_tokens(self.payload)


def conversation_payload(conn: Connection, conversation_id: int) -> dict[str, Any]:
    return conversation_context(conn, conversation_id).payload


def estimate_tokens(payload: dict[str, Any]) -> int:
    """A cheap estimate of the tokens the payload costs in a prompt (about four characters a token)."""
    return len(json.dumps(payload, ensure_ascii=False)) // CHARS_PER_TOKEN + 1


def conversation_context(conn: Connection, conversation_id: int) -> ConversationContext:
    conversation = repo.get_conversation(conn, conversation_id=conversation_id)
    if conversation is None:
        raise ConversationNotFound(f"Conversation {conversation_id} does not exist (deleted or re-imported?).")
    messages = repo.list_prompt_messages(conn, conversation_id=conversation_id)
    reactions = _by_message(repo.list_active_reactions(conn, conversation_id=conversation_id))
    members = repo.list_active_member_ids(conn, chat_id=conversation["chat_id"])
    names = _Names(conn)

    participants: list[dict[str, Any]] = [{"name": ME, "is_me": True}]
    for contact_id in [*members, *(m["sender_contact_id"] for m in messages)]:
        if contact_id is not None:
            name = names.of_contact(contact_id)
            if all(p["name"] != name for p in participants):
                participants.append({"name": name, "is_me": False})

    out_messages = []
    for m in messages:
        sender = ME if m["is_from_me"] else (
            names.of_contact(m["sender_contact_id"]) if m["sender_contact_id"] is not None
            else names.of_handle(m["sender_handle"]))
        if all(p["name"] != sender for p in participants):
            participants.append({"name": sender, "is_me": False})
        item: dict[str, Any] = {
            "id": m["id"], "sender": sender, "is_from_me": bool(m["is_from_me"]),
            "sent_at": iso_local(m["sent_at"]), "text": m["text"] or "",
            "reactions": [_reaction(r, names) for r in reactions.get(m["id"], [])],
        }
        if m["attachments"]:
            item["note"] = "attachment: " + m["attachments"]
        out_messages.append(item)

    return ConversationContext(
        conversation_id=conversation_id, chat_id=conversation["chat_id"], revision=conversation["revision"],
        payload={"participants": participants, "messages": out_messages},
        contact_ids={ME: None, **names.contact_ids},
    )


def iso_local(ms: int) -> str:
    """Milliseconds since the epoch as ISO 8601 with this machine's UTC offset (the user's clock)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone().isoformat(timespec="seconds")


def _by_message(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    by_message: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        if row["kind"] in PROMPT_REACTIONS:
            by_message.setdefault(row["message_id"], []).append(row)
    return by_message


def _reaction(row: dict[str, Any], names: _Names) -> dict[str, Any]:
    sender = ME if row["is_from_me"] else (
        names.of_contact(row["sender_contact_id"]) if row["sender_contact_id"] is not None
        else names.of_handle(row["sender_key"]))
    reaction = {"type": row["kind"], "sender": sender}
    if row["kind"] == "emoji":
        reaction["emoji"] = row["emoji"]
    return reaction


class _Names:
    """Display names of contacts, following merges to the surviving contact; unique per conversation."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._by_contact: dict[int, str] = {}
        self.contact_ids: dict[str, int | None] = {}

    def of_contact(self, contact_id: int) -> str:
        if contact_id not in self._by_contact:
            contact = self._resolve(contact_id)
            self._by_contact[contact_id] = self._unique(_display_name(contact), contact["id"]) if contact else \
                self._unique(f"Contact {contact_id}", None)
        return self._by_contact[contact_id]

    def of_handle(self, handle: str | None) -> str:
        name = handle or "Unknown"
        self.contact_ids.setdefault(name, None)
        return name

    def _resolve(self, contact_id: int) -> dict[str, Any] | None:
        contact = None
        next_id: int | None = contact_id
        for _ in range(MAX_MERGE_DEPTH):
            if next_id is None:
                break
            found = repo.get_contact(self._conn, contact_id=next_id)
            if found is None:
                break
            contact, next_id = found, found["merged_into_id"]
        return contact

    def _unique(self, name: str, contact_id: int | None) -> str:
        candidate, n = name, 2
        while candidate in self.contact_ids and self.contact_ids[candidate] != contact_id or candidate == ME:
            candidate, n = f"{name} ({n})", n + 1
        self.contact_ids[candidate] = contact_id
        return candidate


def _display_name(contact: dict[str, Any]) -> str:
    full = " ".join(part for part in (contact["first_name"], contact["last_name"]) if part)
    return (contact["display_name"] or full or contact["nickname"] or contact["organization"]
            or contact["identifier"] or f"Contact {contact['id']}")

"""chat.db message rows -> mirror rows: messages, tapback reactions, edit history.

This is the hot loop of the import (hundreds of thousands of rows), so rows are plain tuples and
each blob is decoded once, on the cheap path unless it carries more than text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from backend.source.attributed_body import decode_attributed_body, decode_body_text
from backend.source.chatdb.reader import MESSAGE_COLUMNS
from backend.source.dates import APPLE_EPOCH_UNIX_MS, apple_seconds_to_unix_ms, apple_to_unix_ms
from backend.source.summary_info import decode_summary_info
from backend.source.tapbacks import parse_tapback

# Positions in a message row (MESSAGE_COLUMNS + chat_rowid).
(ROWID, GUID, TEXT, BODY, HANDLE_ID, DATE, DATE_READ, DATE_DELIVERED, IS_FROM_ME, SERVICE, SUBJECT, ITEM_TYPE,
 GROUP_ACTION_TYPE, GROUP_TITLE, OTHER_HANDLE, ASSOC_GUID, ASSOC_TYPE, ASSOC_EMOJI, THREAD_GUID, THREAD_PART,
 DATE_EDITED, DATE_RETRACTED, SUMMARY_INFO, EFFECT, BALLOON, IS_READ, IS_AUDIO, HAS_ATTACHMENTS,
 CHAT_ROWID) = range(len(MESSAGE_COLUMNS) + 1)

ITEM_KINDS = {0: "message", 1: "participant_change", 2: "rename", 3: "group_action", 4: "location",
              5: "kept_audio", 6: "facetime"}
# Attribute names that mean a blob holds facts beyond its text: decode those fully (~100 us each;
# the text-only path costs ~1 us). Attachments are not among them: the attachment tables say more.
RICH_MARKERS = (b"Mention", b"__kIMLink", b"OneTimeCode", b"Transcription")
ME = "me"

# Column order of the `messages` insert (see mirror/repo.py).
MESSAGE_FIELDS = (
    "id", "guid", "source_rowid", "chat_id", "conversation_id", "sender_contact_id", "sender_handle",
    "is_from_me", "service", "sent_at", "delivered_at", "read_at", "edited_at", "retracted_at", "text",
    "subject", "kind", "item_type", "group_action_type", "group_title", "other_handle", "reply_to_guid",
    "reply_to_part", "effect", "balloon_bundle_id", "is_read", "is_audio", "is_unsent", "has_attachments",
    "body_json", "decode_error",
)
F_ID, F_CHAT, F_CONVERSATION, F_SENT_AT = 0, 3, 4, 9


@dataclass(slots=True)
class ReactionEvent:
    """One tapback row; folded into the latest state per (sender, target, part, kind, emoji)."""

    sender_key: str
    sender_contact_id: int | None
    is_from_me: bool
    target_guid: str
    target_part: int
    kind: str
    emoji: str
    added: bool
    source_guid: str
    source_rowid: int
    reacted_at: int


@dataclass(slots=True)
class TransformedBatch:
    messages: list[list] = field(default_factory=list)  # MESSAGE_FIELDS order; id/conversation filled later
    reactions: list[ReactionEvent] = field(default_factory=list)
    edits: list[tuple[str, int, int, str | None, int | None]] = field(default_factory=list)  # guid, part, version, text, at
    undecodable: int = 0
    without_chat: int = 0
    without_sender: int = 0
    undated: int = 0


@dataclass(frozen=True, slots=True)
class Lookups:
    """Source ROWIDs -> mirror ids, prepared once per import or sync pass."""

    chat_id_by_rowid: dict[int, int]
    unknown_chat_id: int
    contact_id_by_handle_rowid: dict[int, int]
    contact_key_by_handle_rowid: dict[int, str]
    canonical_by_handle_rowid: dict[int, str]


def message_text(row: tuple) -> tuple[str | None, str | None, str | None]:
    """(text, body_json, decode_error) of one row: `text` column, else the attributedBody."""
    text = row[TEXT] or None
    blob = row[BODY]
    if not blob:
        return text, None, None
    if not any(marker in blob for marker in RICH_MARKERS):
        if text is not None:
            return text, None, None
        decoded_text = decode_body_text(blob)
        if decoded_text is not None:
            return decoded_text, None, None
    decoded = decode_attributed_body(blob)
    error = "; ".join(decoded.errors) if decoded.errors else None
    extras = {
        key: value for key, value in decoded.to_json().items()
        if key in ("parts", "attachments", "mentions", "links", "one_time_code", "audio_transcription")
        and value and not (key == "parts" and len(value) <= 1)
    }
    body_json = json.dumps(extras, ensure_ascii=False) if extras else None
    return (text if text is not None else decoded.text), body_json, error


def transform_messages(rows, lookups: Lookups) -> TransformedBatch:
    """Turn message rows into mirror rows; tapbacks become reaction events, not messages."""
    batch = TransformedBatch()
    out = batch.messages
    chat_ids = lookups.chat_id_by_rowid
    contact_ids = lookups.contact_id_by_handle_rowid
    canonical = lookups.canonical_by_handle_rowid
    for row in rows:
        assoc_type = row[ASSOC_TYPE]
        if assoc_type and (2000 <= assoc_type <= 2007 or 3000 <= assoc_type <= 3007):
            _add_reaction(batch, row, lookups)
            continue
        chat_rowid = row[CHAT_ROWID]
        chat_id = chat_ids.get(chat_rowid) if chat_rowid is not None else None
        if chat_id is None:
            chat_id = lookups.unknown_chat_id
            batch.without_chat += 1
        is_from_me = 1 if row[IS_FROM_ME] else 0
        handle_id = row[HANDLE_ID]
        sender_contact_id = None
        sender_handle = None
        if not is_from_me and handle_id:
            sender_contact_id = contact_ids.get(handle_id)
            sender_handle = canonical.get(handle_id)
            if sender_contact_id is None:
                batch.without_sender += 1
        sent_at = apple_to_unix_ms(row[DATE])
        if sent_at is None:
            sent_at = APPLE_EPOCH_UNIX_MS
            batch.undated += 1
        text, body_json, decode_error = message_text(row)
        if decode_error is not None and text is None:
            batch.undecodable += 1
        edited_at = apple_to_unix_ms(row[DATE_EDITED])
        retracted_at = apple_to_unix_ms(row[DATE_RETRACTED])
        is_unsent = 1 if retracted_at else 0
        summary = row[SUMMARY_INFO]
        if summary:
            info = decode_summary_info(summary)
            if info.fully_unsent or info.retracted_parts:
                is_unsent = 1
            guid = row[GUID]
            for part, versions in info.edited_parts.items():
                for version, edit in enumerate(versions):
                    batch.edits.append(
                        (guid, part, version, edit.text, apple_seconds_to_unix_ms(edit.edited_at_apple_seconds))
                    )
        item_type = row[ITEM_TYPE] or 0
        other = row[OTHER_HANDLE]
        out.append([
            None, row[GUID], row[ROWID], chat_id, None, sender_contact_id, sender_handle, is_from_me,
            row[SERVICE], sent_at, apple_to_unix_ms(row[DATE_DELIVERED]), apple_to_unix_ms(row[DATE_READ]),
            edited_at, retracted_at, text, row[SUBJECT] or None, ITEM_KINDS.get(item_type, "other"), item_type,
            row[GROUP_ACTION_TYPE] or 0, row[GROUP_TITLE], canonical.get(other) if other else None,
            row[THREAD_GUID], row[THREAD_PART], row[EFFECT], row[BALLOON], 1 if row[IS_READ] else 0,
            1 if row[IS_AUDIO] else 0, is_unsent, 1 if row[HAS_ATTACHMENTS] else 0, body_json, decode_error,
        ])
    return batch


def _add_reaction(batch: TransformedBatch, row: tuple, lookups: Lookups) -> None:
    tapback = parse_tapback(row[ASSOC_TYPE], row[ASSOC_GUID])
    if tapback is None:
        return
    is_from_me = bool(row[IS_FROM_ME])
    handle_id = row[HANDLE_ID]
    if is_from_me:
        sender_key, contact_id = ME, None
    else:
        sender_key = lookups.contact_key_by_handle_rowid.get(handle_id, f"handle:{handle_id}")
        contact_id = lookups.contact_id_by_handle_rowid.get(handle_id)
    batch.reactions.append(ReactionEvent(
        sender_key=sender_key, sender_contact_id=contact_id, is_from_me=is_from_me,
        target_guid=tapback.target_guid, target_part=tapback.target_part, kind=tapback.kind,
        emoji=(row[ASSOC_EMOJI] or "") if tapback.kind in ("emoji", "sticker") else "",
        added=tapback.added, source_guid=row[GUID], source_rowid=row[ROWID],
        reacted_at=apple_to_unix_ms(row[DATE]) or APPLE_EPOCH_UNIX_MS,
    ))


def latest_reactions(events: list[ReactionEvent]) -> list[ReactionEvent]:
    """The latest event per (sender, target, part, kind, emoji): what the mirror shows."""
    latest: dict[tuple, ReactionEvent] = {}
    for event in sorted(events, key=lambda e: (e.reacted_at, e.source_rowid)):
        latest[(event.sender_key, event.target_guid, event.target_part, event.kind, event.emoji)] = event
    return list(latest.values())

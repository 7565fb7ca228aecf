"""What Python adds to the SQL copy of messages: blob extras, edit histories, tapback states.

Plain message rows are copied by `repo.load_messages` in SQL; only rows whose blobs carry more than
their text (mentions, links, one-time codes, transcriptions, undecodable bodies), edited or unsent
rows, and tapback rows come through here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from backend.source.attributed_body import decode_attributed_body, decode_body_text
from backend.source.dates import APPLE_EPOCH_UNIX_MS, apple_seconds_to_unix_ms, apple_to_unix_ms
from backend.source.summary_info import decode_summary_info
from backend.source.tapbacks import parse_tapback

ITEM_KINDS = {0: "message", 1: "participant_change", 2: "rename", 3: "group_action", 4: "location",
              5: "kept_audio", 6: "facetime"}
# Attribute names that mean a blob holds facts beyond its text: decode those fully (~100 us each;
# the text-only path costs ~1 us). Attachments are not among them: the attachment tables say more.
RICH_MARKERS = (b"Mention", b"__kIMLink", b"OneTimeCode", b"Transcription")
# Summary plists of edited ('ec') or unsent ('rp') messages; bplist ASCII strings of 2 chars start 'R'.
EDIT_MARKERS = (b"Rec", b"Rrp")
# One scan for any of the markers (a compiled alternation beats one `in` per marker on these sizes).
_RICH_SEARCH = re.compile(b"|".join(re.escape(marker) for marker in RICH_MARKERS)).search
_EDIT_SEARCH = re.compile(b"|".join(re.escape(marker) for marker in EDIT_MARKERS)).search
EXTRA_KEYS = ("parts", "attachments", "mentions", "links", "one_time_code", "audio_transcription")
ME = "me"


class BodyTexts:
    """A message's text from its row, noting rows whose blobs need more than the fast path.

    Called once per copied row (as an SQL function): the `text` column, else the fast decode of
    the attributedBody. A blob with a rich marker (its text comes from the full decode) or that the
    fast path cannot read lands in `needs_extras`; a summary with edit markers in `needs_edits`.
    """

    def __init__(self) -> None:
        self.needs_extras: list[int] = []
        self.needs_edits: list[int] = []

    def __call__(self, rowid: int, text: str | None, blob: bytes | None, summary: bytes | None) -> str | None:
        if summary and _EDIT_SEARCH(summary) is not None:
            self.needs_edits.append(rowid)
        if blob:
            if _RICH_SEARCH(blob) is not None:
                self.needs_extras.append(rowid)
            elif not text:
                decoded = decode_body_text(blob)
                if decoded is None:
                    self.needs_extras.append(rowid)
                return decoded
        return text or None


def body_extras(blob: bytes) -> tuple[str | None, str | None, str | None]:
    """(text, body_json, decode_error) from a full decode of an attributedBody."""
    decoded = decode_attributed_body(blob)
    extras = {
        key: value for key, value in decoded.to_json().items()
        if key in EXTRA_KEYS and value and not (key == "parts" and len(value) <= 1)
    }
    return (decoded.text, json.dumps(extras, ensure_ascii=False) if extras else None,
            "; ".join(decoded.errors) if decoded.errors else None)


def summary_edits(summary: bytes) -> tuple[list[tuple], bool]:
    """((part, version, text, edited_at) of each edit, unsent?) of one message_summary_info plist."""
    info = decode_summary_info(summary)
    rows = [
        (part, version, edit.text, apple_seconds_to_unix_ms(edit.edited_at_apple_seconds))
        for part, versions in info.edited_parts.items()
        for version, edit in enumerate(versions)
    ]
    return rows, bool(info.fully_unsent or info.retracted_parts)


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


def reaction_event(
    *, source_rowid: int, guid: str, assoc_type: int, assoc_guid: str | None, assoc_emoji: str | None,
    is_from_me: bool, date: int | None, sender_key: str | None, sender_contact_id: int | None,
    handle_rowid: int | None,
) -> ReactionEvent | None:
    tapback = parse_tapback(assoc_type, assoc_guid)
    if tapback is None:
        return None
    if is_from_me:
        sender_key, sender_contact_id = ME, None
    elif sender_key is None:
        sender_key = f"handle:{handle_rowid}"
    return ReactionEvent(
        sender_key=sender_key, sender_contact_id=sender_contact_id, is_from_me=bool(is_from_me),
        target_guid=tapback.target_guid, target_part=tapback.target_part, kind=tapback.kind,
        emoji=(assoc_emoji or "") if tapback.kind in ("emoji", "sticker") else "",
        added=tapback.added, source_guid=guid, source_rowid=source_rowid,
        reacted_at=apple_to_unix_ms(date) or APPLE_EPOCH_UNIX_MS,
    )


def latest_reactions(events: list[ReactionEvent]) -> list[ReactionEvent]:
    """The latest event per (sender, target, part, kind, emoji): what the mirror shows."""
    latest: dict[tuple, ReactionEvent] = {}
    for event in sorted(events, key=lambda e: (e.reacted_at, e.source_rowid)):
        latest[(event.sender_key, event.target_guid, event.target_part, event.kind, event.emoji)] = event
    return list(latest.values())

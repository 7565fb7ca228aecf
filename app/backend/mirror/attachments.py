"""chat.db attachment rows -> mirror rows, with `~` expanded and missing files counted, not fatal."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from backend.source.dates import apple_to_unix_ms

ATTACHMENT_FIELDS = (
    "guid", "source_rowid", "message_id", "path", "transfer_name", "mime_type", "uti", "total_bytes",
    "created_at", "is_sticker", "file_present",
)


@dataclass(slots=True)
class AttachmentBatch:
    rows: list[tuple] = field(default_factory=list)
    missing_files: int = 0
    orphans: int = 0


def expand_path(filename: str | None, *, home: str) -> str | None:
    if not filename:
        return None
    if filename.startswith("~/"):
        return home + filename[1:]
    if filename.startswith("~"):
        return os.path.expanduser(filename)
    return filename


MESSAGES_PREFIX = "~/Library/Messages/"


@dataclass(slots=True)
class LocatedAttachments:
    """Attachment rows with their files looked up, waiting for their messages' ids (see link_attachments)."""

    rows: list[tuple] = field(default_factory=list)  # ATTACHMENT_FIELDS, with the message ROWID as message_id
    missing_files: int = 0


def locate_attachments(
    rows: Iterable[tuple], *, messages_root: str | None = None, home: Path | None = None,
) -> LocatedAttachments:
    """Rows of ATTACHMENT_COLUMNS + message_rowid, with `~` expanded and each file checked.

    `messages_root` is the folder holding the imported chat.db: a copy of ~/Library/Messages (or a
    demo source) keeps its Attachments/ beside it, so `~/Library/Messages/...` resolves there.
    """
    located = LocatedAttachments()
    home_dir = str(home or Path.home())
    exists = os.path.exists
    for rowid, guid, filename, mime, uti, transfer_name, total_bytes, created, is_sticker, message_rowid in rows:
        if messages_root and filename and filename.startswith(MESSAGES_PREFIX):
            path = os.path.join(messages_root, filename[len(MESSAGES_PREFIX):])
        else:
            path = expand_path(filename, home=home_dir) or ""
        present = bool(path) and exists(path)
        if not present:
            located.missing_files += 1
        located.rows.append((
            guid, rowid, message_rowid, path, transfer_name, mime, uti, total_bytes,
            apple_to_unix_ms(created), 1 if is_sticker else 0, 1 if present else 0,
        ))
    return located


def link_attachments(located: LocatedAttachments, *, message_id_by_rowid: dict[int, int]) -> AttachmentBatch:
    """Message ROWIDs -> mirror message ids. Orphans (no mirrored message) are kept with message_id NULL."""
    batch = AttachmentBatch(missing_files=located.missing_files)
    for row in located.rows:
        message_rowid = row[2]
        message_id = message_id_by_rowid.get(message_rowid) if message_rowid is not None else None
        if message_id is None:
            batch.orphans += 1
        batch.rows.append((*row[:2], message_id, *row[3:]))
    return batch

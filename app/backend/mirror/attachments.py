"""chat.db attachment rows -> mirror rows, with `~` expanded and missing files counted, not fatal."""

from __future__ import annotations

import os
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


def expand_path(filename: str | None, *, home: Path | None = None) -> str | None:
    if not filename:
        return None
    if filename.startswith("~"):
        return str((home or Path.home()) / filename[2:]) if filename.startswith("~/") else os.path.expanduser(filename)
    return filename


def transform_attachments(rows, *, message_id_by_rowid: dict[int, int], home: Path | None = None) -> AttachmentBatch:
    """Rows of ATTACHMENT_COLUMNS + message_rowid. Orphans (no message) are kept with message_id NULL."""
    batch = AttachmentBatch()
    for rowid, guid, filename, mime, uti, transfer_name, total_bytes, created, is_sticker, message_rowid in rows:
        path = expand_path(filename, home=home)
        present = bool(path) and os.path.exists(path)
        if not present:
            batch.missing_files += 1
        message_id = message_id_by_rowid.get(message_rowid) if message_rowid is not None else None
        if message_id is None:
            batch.orphans += 1
        batch.rows.append((
            guid, rowid, message_id, path, transfer_name, mime, uti, total_bytes,
            apple_to_unix_ms(created), 1 if is_sticker else 0, 1 if present else 0,
        ))
    return batch

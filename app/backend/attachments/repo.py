"""SQL of attachments: one row, as the thumbnail service needs it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from backend.db.session import fetch_one


def get(conn: Connection, attachment_id: int) -> dict[str, Any] | None:
    return fetch_one(conn, """
        SELECT id, path, transfer_name, mime_type, uti, total_bytes, is_sticker, file_present
        FROM attachments WHERE id = :id
    """, {"id": attachment_id})

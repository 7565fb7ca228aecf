"""chat.db read in SQL, ATTACHed read-only to central.db's connection as schema `src`.

The importer and the live sync move messages with one `INSERT ... SELECT` from the attached
source: SQLite does the joins and copies in C, and Python is called only to decode blobs. This
module writes the SELECT side in Apple's terms and hands back normalized column names; columns an
older or newer macOS lacks are selected as NULL.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from backend.source.chatdb.capabilities import SchemaCapabilities
from backend.source.dates import APPLE_EPOCH_UNIX_MS, SECONDS_LIMIT
from backend.source.tapbacks import ADD_RANGE, REMOVE_RANGE

SCHEMA = "src"

# normalized name -> chat.db message column
MESSAGE_SOURCE_COLUMNS = {
    "source_rowid": "ROWID", "guid": "guid", "text": "text", "body": "attributedBody", "handle_rowid": "handle_id",
    "date": "date", "date_delivered": "date_delivered", "date_read": "date_read", "date_edited": "date_edited",
    "date_retracted": "date_retracted", "is_from_me": "is_from_me", "service": "service", "subject": "subject",
    "item_type": "item_type", "group_action_type": "group_action_type", "group_title": "group_title",
    "other_handle_rowid": "other_handle", "assoc_type": "associated_message_type",
    "assoc_guid": "associated_message_guid", "assoc_emoji": "associated_message_emoji",
    "reply_to_guid": "thread_originator_guid", "reply_to_part": "thread_originator_part",
    "effect": "expressive_send_style_id", "balloon_bundle_id": "balloon_bundle_id", "is_read": "is_read",
    "is_audio": "is_audio_message", "has_attachments": "cache_has_attachments",
    "summary_info": "message_summary_info",
}


def attach(conn: sqlite3.Connection, path: Path) -> None:
    """ATTACH chat.db read-only (never immutable: a live database is read through its WAL)."""
    uri = f"{Path(path).expanduser().resolve().as_uri()}?mode=ro"
    conn.execute(f"ATTACH DATABASE ? AS {SCHEMA}", (uri,))


def detach(conn: sqlite3.Connection) -> None:
    conn.execute(f"DETACH DATABASE {SCHEMA}")


def apple_ms_sql(expression: str) -> str:
    """SQL twin of dates.apple_to_unix_ms: seconds or nanoseconds since 2001 -> Unix ms; 0/NULL -> NULL."""
    return (
        f"(CASE WHEN coalesce({expression}, 0) = 0 THEN NULL "
        f"WHEN {expression} > -{SECONDS_LIMIT} AND {expression} < {SECONDS_LIMIT} "
        f"THEN {APPLE_EPOCH_UNIX_MS} + CAST({expression} * 1000 AS INTEGER) "
        f"ELSE {APPLE_EPOCH_UNIX_MS} + {expression} / 1000000 END)"
    )


def is_tapback_sql(expression: str) -> str:
    return (f"(coalesce({expression}, 0) BETWEEN {ADD_RANGE[0]} AND {ADD_RANGE[1]} "
            f"OR coalesce({expression}, 0) BETWEEN {REMOVE_RANGE[0]} AND {REMOVE_RANGE[1]})")


def fill_message_chats(conn: sqlite3.Connection) -> None:
    """temp.message_chats: each message's chat (the lowest, for the rare message in several), in one pass."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS message_chats (message_id INTEGER PRIMARY KEY, chat_id INTEGER)")
    conn.execute("DELETE FROM temp.message_chats")
    # Walks the (chat_id, message_id) primary key, which covers the query: a message's first row is its
    # lowest chat, and the later ones are ignored. Same result as GROUP BY message_id with min(chat_id).
    conn.execute(f"INSERT OR IGNORE INTO temp.message_chats SELECT message_id, chat_id FROM {SCHEMA}.chat_message_join "
                 "WHERE message_id IS NOT NULL AND chat_id IS NOT NULL ORDER BY chat_id, message_id")


def message_select(
    columns: SchemaCapabilities, *, where: str = "1", with_chat: bool = True, chat_map: bool = False,
) -> str:
    """SELECT of normalized message columns (+ chat_rowid) from the attached source, by ROWID.

    `where` may use `m.` (the message row) and named parameters. With `chat_map`, chats come from
    temp.message_chats (see fill_message_chats), which is much faster for a whole table.
    """
    present = columns["message"]
    select = [
        (f"m.{source} AS {name}" if source in present else f"NULL AS {name}")
        for name, source in MESSAGE_SOURCE_COLUMNS.items()
    ]
    if not with_chat or not columns.get("chat_message_join"):
        chat = "NULL"
    elif chat_map:
        chat = "(SELECT mc.chat_id FROM temp.message_chats mc WHERE mc.message_id = m.ROWID)"
    else:
        chat = f"(SELECT min(j.chat_id) FROM {SCHEMA}.chat_message_join j WHERE j.message_id = m.ROWID)"
    select.append(f"{chat} AS chat_rowid")
    return f"SELECT {', '.join(select)} FROM {SCHEMA}.message m WHERE {where}"


def tapback_filter(columns: SchemaCapabilities, *, tapbacks: bool) -> str:
    """Rows that are (or are not) tapbacks; a file without associated_message_type has none."""
    if not columns.tapbacks:
        return "0" if tapbacks else "1"
    condition = is_tapback_sql("m.associated_message_type")
    return condition if tapbacks else f"NOT {condition}"

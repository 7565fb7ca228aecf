"""The SQL the live demo writer runs against a generated chat.db (see live.py).

Named functions over an open sqlite3 connection; they return dicts or small dataclasses.
Transactions belong to the caller (`write_transaction`), one short one per Messages-like write.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from backend.source.chatdb.capabilities import SchemaCapabilities, probe
from backend.source.demo.rows import MESSAGE_COLUMNS
from backend.source.demo.schema import register_apple_functions

GROUP_STYLE = 43
NS = 1_000_000_000
# Written as seconds in a file from before High Sierra (see variants.py), as ns after.
_DATE_COLUMNS = ("date", "date_read", "date_delivered", "date_played")
# NULL rather than 0 for "never" where the column defaults to NULL (macOS 26).
_NULLABLE_DATES = ("date_edited", "date_retracted")


def capabilities(conn: sqlite3.Connection) -> SchemaCapabilities:
    """Which columns this chat.db has (the demo writes every schema variant the generator makes)."""
    return probe(conn)


def _to_file(conn: sqlite3.Connection, values: dict[str, object]) -> dict[str, object]:
    """Keep the columns the file has, with dates in its unit."""
    caps = capabilities(conn)
    present = caps["message"]
    seconds = caps.date_unit == "s"
    nullable = {row[1] for row in conn.execute("PRAGMA table_info(message)") if row[4] in (None, "NULL")}
    out: dict[str, object] = {}
    for name, value in values.items():
        if name not in present:
            continue
        if seconds and name in _DATE_COLUMNS and isinstance(value, int) and value:
            value = value // NS
        if name in _NULLABLE_DATES and name in nullable and value == 0:
            value = None
        out[name] = value
    return out


@dataclass(frozen=True)
class LiveChat:
    rowid: int
    guid: str
    is_group: bool
    is_shortcode: bool
    service: str
    account: str | None
    account_guid: str | None
    my_address: str | None
    room_name: str | None
    members: tuple[int, ...]  # handle ROWIDs in chat_handle_join


def connect(path: Path) -> sqlite3.Connection:
    """A writing connection as Messages keeps one: WAL, autocommit outside explicit transactions."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=10.0, check_same_thread=False)
    register_apple_functions(conn)  # Apple's triggers call these
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def list_chats(conn: sqlite3.Connection) -> list[LiveChat]:
    members: dict[int, list[int]] = {}
    joins = conn.execute("SELECT chat_id, handle_id FROM chat_handle_join ORDER BY chat_id, handle_id")
    for chat_id, handle_id in joins:
        members.setdefault(chat_id, []).append(handle_id)
    service = capabilities(conn).chat_service_sql("chat")
    rows = conn.execute(
        f"""
        SELECT ROWID, guid, style, {service} AS service_name, account_login, account_id, last_addressed_handle,
               room_name, chat_identifier
        FROM chat ORDER BY ROWID
        """
    ).fetchall()
    return [
        LiveChat(
            rowid=r["ROWID"], guid=r["guid"], is_group=r["style"] == GROUP_STYLE,
            is_shortcode=r["style"] != GROUP_STYLE and (r["chat_identifier"] or "").isdigit(),
            service=r["service_name"] or "iMessage", account=r["account_login"], account_guid=r["account_id"],
            my_address=r["last_addressed_handle"], room_name=r["room_name"],
            members=tuple(members.get(r["ROWID"], ())),
        )
        for r in rows
    ]


def get_message(conn: sqlite3.Connection, *, guid: str) -> dict | None:
    caps = capabilities(conn)
    columns = ", ".join(
        caps.column("m", "message", name, default=f"NULL AS {name}") if name in _TEXT_COLUMNS
        else f"coalesce({caps.column('m', 'message', name, default='0')}, 0) AS {name}"
        for name in (*_TEXT_COLUMNS, *_NUMBER_COLUMNS))
    row = conn.execute(
        f"""
        SELECT {columns}, j.chat_id
        FROM message m LEFT JOIN chat_message_join j ON j.message_id = m.ROWID
        WHERE m.guid = ?
        LIMIT 1
        """,
        (guid,),
    ).fetchone()
    if row is None:
        return None
    found = dict(row)
    if caps.date_unit == "s" and found["date"]:
        found["date"] *= NS  # the writer works in ns
    return found


_TEXT_COLUMNS = ("guid", "text", "attributedBody", "service", "message_summary_info", "balloon_bundle_id",
                 "associated_message_guid", "associated_message_emoji")
_NUMBER_COLUMNS = ("ROWID", "handle_id", "is_from_me", "date", "date_retracted", "date_edited", "part_count",
                   "associated_message_type")


def get_tapback_sender(conn: sqlite3.Connection, *, target_guid: str, kind_code: int) -> tuple[int, bool] | None:
    """(handle_id, is_from_me) of the newest tapback of `kind_code` (2000-2006) on part 0 of the target: only
    the person who added a tapback can remove it."""
    if not capabilities(conn).has("message", "associated_message_type"):
        return None
    row = conn.execute(
        """
        SELECT handle_id, is_from_me FROM message
        WHERE associated_message_guid = ? AND associated_message_type = ?
        ORDER BY ROWID DESC LIMIT 1
        """,
        (f"p:0/{target_guid}", kind_code),
    ).fetchone()
    return (row[0], bool(row[1])) if row else None


def get_rowid_sequence(conn: sqlite3.Connection) -> int:
    """The highest message ROWID ever given out (AUTOINCREMENT never hands it out again)."""
    row = conn.execute(
        "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'message'), 0),"
        " coalesce((SELECT max(ROWID) FROM message), 0))"
    ).fetchone()
    return row[0]


def get_last_guid_in_chat(conn: sqlite3.Connection, *, chat_id: int) -> str | None:
    order = ("j.message_date DESC, j.message_id DESC" if capabilities(conn).has("chat_message_join", "message_date")
             else "m.date DESC, j.message_id DESC")
    row = conn.execute(
        f"""
        SELECT m.guid FROM chat_message_join j JOIN message m ON m.ROWID = j.message_id
        WHERE j.chat_id = ? ORDER BY {order} LIMIT 1
        """,
        (chat_id,),
    ).fetchone()
    return row[0] if row else None


def create_message(conn: sqlite3.Connection, *, row: list, chat_id: int) -> int:
    """Inserts the row (ROWID None: AUTOINCREMENT gives the next one) and its chat_message_join row."""
    values = _to_file(conn, dict(zip(MESSAGE_COLUMNS, row, strict=True)))
    rowid = conn.execute(f"INSERT INTO message ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                         tuple(values.values())).lastrowid
    assert rowid is not None
    if "message_date" in capabilities(conn)["chat_message_join"]:
        conn.execute("INSERT INTO chat_message_join (chat_id, message_id, message_date) VALUES (?, ?, ?)",
                     (chat_id, rowid, values["date"]))
    else:
        conn.execute("INSERT INTO chat_message_join (chat_id, message_id) VALUES (?, ?)", (chat_id, rowid))
    return rowid


def update_message(conn: sqlite3.Connection, *, guid: str, values: dict[str, object]) -> None:
    if set(values) - set(MESSAGE_COLUMNS):
        raise ValueError(f"not message columns: {sorted(set(values) - set(MESSAGE_COLUMNS))}")
    values = _to_file(conn, values)  # a column this macOS lacks is not written
    if values:
        columns = ", ".join(f"{name} = ?" for name in values)
        conn.execute(f"UPDATE message SET {columns} WHERE guid = ?", (*values.values(), guid))


def update_chat_last_read(conn: sqlite3.Connection, *, chat_id: int, read_ns: int) -> None:
    if not capabilities(conn).has("chat", "last_read_message_timestamp"):
        return
    conn.execute(
        "UPDATE chat SET last_read_message_timestamp = max(coalesce(last_read_message_timestamp, 0), ?)"
        " WHERE ROWID = ?",
        (read_ns, chat_id),
    )


def delete_message(conn: sqlite3.Connection, *, rowid: int) -> None:
    """As Messages deletes: the joins go, and Apple's triggers delete the message row (when it is in
    no other chat) and record its guid in deleted_messages and sync_deleted_messages."""
    conn.execute("DELETE FROM message_attachment_join WHERE message_id = ?", (rowid,))
    conn.execute("DELETE FROM chat_message_join WHERE message_id = ?", (rowid,))
    conn.execute("DELETE FROM message WHERE ROWID = ?", (rowid,))  # a message in no chat


def list_recent_guids(conn: sqlite3.Connection, *, kind: str, limit: int = 30) -> list[str]:
    """The newest messages an action can apply to, newest first.

    kind: "text" (a plain message that can be reacted to or deleted), "editable" (my text message,
    iMessage, not unsent), "unread" (received, not read), "tapback" (an added tapback).
    """
    caps = capabilities(conn)
    where = _RECENT[kind]
    for column in ("associated_message_type", "date_retracted", "balloon_bundle_id"):
        if not caps.has("message", column):
            where = where.replace(column, "NULL" if column == "balloon_bundle_id" else "0")
    if kind == "tapback" and not caps.tapbacks:
        return []
    where = where.replace("date_retracted = 0", "coalesce(date_retracted, 0) = 0")
    return [r[0] for r in conn.execute(f"SELECT guid FROM message WHERE {where} ORDER BY ROWID DESC LIMIT ?",
                                       (limit,))]


_PLAIN = ("associated_message_type = 0 AND item_type = 0 AND date_retracted = 0"
          " AND balloon_bundle_id IS NULL AND attributedBody IS NOT NULL"
          " AND EXISTS (SELECT 1 FROM chat_message_join j WHERE j.message_id = message.ROWID)")
_RECENT = {
    "text": _PLAIN,
    "editable": f"{_PLAIN} AND is_from_me = 1 AND service = 'iMessage' AND cache_has_attachments = 0",
    "unread": f"{_PLAIN} AND is_from_me = 0 AND is_read = 0",
    "tapback": "associated_message_type BETWEEN 2000 AND 2006",
}

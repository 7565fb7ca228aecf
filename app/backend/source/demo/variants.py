"""`chatstats demo-source --schema VARIANT`: the demo chat.db as older and newer macOS versions write it.

The generator writes macOS 15's schema (chatdb_schema.sql); a variant then rewrites the file in two
steps, each one testable on its own:

1. `reduce_content` (same schema): removes what that macOS could not hold (tapbacks before 10.12,
   edits and unsends before 13, emoji tapbacks before 15) and rounds dates to whole seconds for an
   era that stored seconds. Applying it to a macOS 15 file gives the *expected* mirror of the variant.
2. `convert_schema`: rebuilds the tables with the variant's columns (ROWIDs kept), converts dates to
   seconds (10.10), rewrites chat guids to `any;-;`/`any;+;` and adds `chat_lookup`/`chat_service`
   and triggers that call Apple-only SQL functions (26), and makes `date_edited`/`date_retracted`
   NULL where they were 0 (26). Indexes and triggers that name a dropped column are dropped.

The column sets follow the order Apple appended columns in (a later macOS adds columns at the end
of the CREATE TABLE); the 10.10 set is the message table up to `message_source`. The macOS 26
additions and its two tables are modelled, not copied from a real file: no real Tahoe chat.db was
available to this project (see DESIGN.md).
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from backend.errors import InvalidRequest
from backend.source.dates import SECONDS_LIMIT
from backend.source.demo.schema import register_apple_functions

NS = 1_000_000_000


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    # message / chat / attachment / handle: keep columns up to and including this one (None: all)
    last_columns: dict[str, str]
    seconds: bool = False
    tapbacks: bool = True
    emoji_tapbacks: bool = True
    edits: bool = True
    replies: bool = True
    join_dates: bool = True  # chat_message_join.message_date
    deleted_messages: bool = True
    tahoe: bool = False


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("osx10.10", "OS X 10.10 Yosemite: no tapbacks, edits or replies; dates in seconds",
            {"message": "message_source", "chat": "successful_query", "attachment": "total_bytes",
             "handle": "uncanonicalized_id"},
            seconds=True, tapbacks=False, emoji_tapbacks=False, edits=False, replies=False, join_dates=False,
            deleted_messages=False),
    Variant("macos12", "macOS 12 Monterey: tapbacks and replies, no edits or unsends",
            {"message": "did_notify_recipient"}, emoji_tapbacks=False, edits=False),
    Variant("macos14", "macOS 14 Sonoma: edits and unsends, no emoji tapbacks",
            {"message": "is_critical"}, emoji_tapbacks=False),
    Variant("macos15", "macOS 15 Sequoia (what the generator writes)", {}),
    Variant("macos26", "macOS 26 Tahoe: any;-; chat guids, chat_lookup and chat_service, NULL edit dates",
            {}, tahoe=True),
)}
DEFAULT_VARIANT = "macos15"
DATE_COLUMNS = {"message": ("date", "date_read", "date_delivered", "date_played"),
                "attachment": ("created_date", "start_date")}
TAHOE_MESSAGE_COLUMNS = ("is_scheduled_by_shortcut INTEGER DEFAULT 0", "translation_state INTEGER DEFAULT 0",
                         "translated_text_hash TEXT DEFAULT NULL")
TAHOE_TABLES = (
    "CREATE TABLE chat_service (service TEXT NOT NULL, chat INTEGER REFERENCES chat (ROWID) ON DELETE CASCADE, "
    "UNIQUE (service, chat))",
    "CREATE TABLE chat_lookup (identifier TEXT NOT NULL, domain TEXT NOT NULL, chat INTEGER REFERENCES chat "
    "(ROWID) ON DELETE CASCADE, priority INTEGER DEFAULT 0, UNIQUE (identifier, domain, chat))",
)
TAHOE_TRIGGERS = (
    "CREATE TRIGGER after_insert_on_chat_service AFTER INSERT ON chat_service BEGIN "
    "SELECT chat_service_did_change(NEW.chat, NEW.service); END",
    "CREATE TRIGGER after_delete_on_chat_lookup AFTER DELETE ON chat_lookup BEGIN "
    "SELECT chat_lookup_did_change(OLD.chat); END",
    "CREATE TRIGGER after_insert_on_message_schedule AFTER INSERT ON message WHEN NEW.schedule_type = 2 BEGIN "
    "SELECT schedule_message_send(NEW.ROWID, NEW.guid); END",
)


def get_variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise InvalidRequest(f"unknown --schema {name!r}: choose one of {', '.join(VARIANTS)}",
                             schema=name) from None


def apply_variant(chat_db: Path, name: str, *, convert: bool = True) -> None:
    """Rewrite a generated macOS 15 chat.db as `name` writes it (content first, then schema; with
    `convert=False` the content only, which is what a test expects the variant to mirror to)."""
    variant = get_variant(name)
    if variant.name == DEFAULT_VARIANT:
        return
    with closing(sqlite3.connect(chat_db, isolation_level=None)) as conn:
        register_apple_functions(conn)
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("PRAGMA legacy_alter_table = ON")
        conn.execute("BEGIN")
        reduce_content(conn, variant)
        if convert:
            convert_schema(conn, variant)
        conn.execute("COMMIT")
        conn.execute("VACUUM")
        conn.execute("PRAGMA journal_mode = WAL")


def reduce_content(conn: sqlite3.Connection, variant: Variant) -> None:
    """Drop what `variant`'s macOS could not hold; the schema stays macOS 15's (see module doc)."""
    if not variant.tapbacks:
        _delete_messages(conn, "associated_message_type BETWEEN 2000 AND 3999")
        conn.execute("UPDATE message SET associated_message_guid = NULL, associated_message_type = 0, "
                     "associated_message_emoji = NULL")
    elif not variant.emoji_tapbacks:
        _delete_messages(conn, "associated_message_type IN (2006, 3006) OR associated_message_emoji IS NOT NULL")
    if not variant.edits:
        _delete_messages(conn, "coalesce(date_retracted, 0) != 0")
        conn.execute("UPDATE message SET date_edited = 0, message_summary_info = NULL")
    if not variant.replies:
        conn.execute("UPDATE message SET thread_originator_guid = NULL, thread_originator_part = NULL, "
                     "reply_to_guid = NULL, expressive_send_style_id = NULL, balloon_bundle_id = NULL")
    if variant.tahoe:
        _merge_any_chats(conn)
    if variant.seconds:  # whole seconds, still in ns: convert_schema divides exactly
        for table, columns in DATE_COLUMNS.items():
            for column in columns:
                conn.execute(f"UPDATE {table} SET {column} = {column} - {column} % {NS} "
                             f"WHERE abs({column}) >= {SECONDS_LIMIT}")


def convert_schema(conn: sqlite3.Connection, variant: Variant) -> None:
    dropped: set[str] = set()
    extra = {"message": TAHOE_MESSAGE_COLUMNS} if variant.tahoe else {}
    for table in ("message", "chat", "attachment", "handle", "chat_message_join"):
        last = variant.last_columns.get(table)
        if table == "chat_message_join":
            last = None if variant.join_dates else "message_id"
        if last is None and table not in extra and not (variant.tahoe and table == "message"):
            continue
        dropped |= _rebuild(conn, variant, table, last=last, extra=extra.get(table, ()))
    if not variant.deleted_messages:
        conn.execute("DROP TABLE deleted_messages")
        dropped.add("deleted_messages")
    if variant.tahoe:
        _to_tahoe(conn)


def _rebuild(conn: sqlite3.Connection, variant: Variant, table: str, *, last: str | None,
             extra: tuple[str, ...]) -> set[str]:
    create = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()[0]
    head, body = create.split("(", 1)
    parts = _split_top_level(body.rsplit(")", 1)[0])
    columns = [p for p in parts if not p.upper().startswith(("UNIQUE", "PRIMARY KEY", "CHECK"))]
    constraints = [p for p in parts if p not in columns]
    names = [c.split()[0] for c in columns]
    keep = names if last is None else names[: names.index(last) + 1]
    kept_defs = [c for c in columns if c.split()[0] in keep]
    if variant.tahoe and table == "message":  # edit dates default to NULL and hold NULL for "never"
        kept_defs = [re.sub(r"DEFAULT 0$", "DEFAULT NULL", c) if c.split()[0] in ("date_edited", "date_retracted")
                     else c for c in kept_defs]
    constraints = [c for c in constraints if all(name in keep for name in re.findall(r"\w+", c.split("(", 1)[1]))]
    dropped = set(names) - set(keep)
    attached = _dependents(conn, table)
    for kind, name, _sql in attached:
        conn.execute(f"DROP {kind} {name}")
    selected = []
    for name in keep:
        expression = name
        if variant.seconds and name in DATE_COLUMNS.get(table, ()):
            expression = f"CASE WHEN abs({name}) >= {SECONDS_LIMIT} THEN {name} / {NS} ELSE {name} END"
        if variant.tahoe and table == "message" and name in ("date_edited", "date_retracted"):
            expression = f"NULLIF({name}, 0)"
        selected.append(expression)
    sequence = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    conn.execute(f"{head.replace(table, f'{table}_new', 1)}({', '.join(kept_defs + list(extra) + constraints)})")
    conn.execute(f"INSERT INTO {table}_new ({', '.join(keep)}) SELECT {', '.join(selected)} FROM {table}")
    conn.execute(f"DROP TABLE {table}")
    conn.execute(f"ALTER TABLE {table}_new RENAME TO {table}")  # legacy_alter_table: other tables' FKs untouched
    if sequence is not None:
        conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (sequence[0], table))
    for _kind, _name, sql in attached:
        if not any(re.search(rf"\b{re.escape(column)}\b", sql) for column in dropped):
            conn.execute(sql)
    return dropped


def _dependents(conn: sqlite3.Connection, table: str) -> list[tuple[str, str, str]]:
    """Indexes on `table` and every trigger that mentions it (ALTER ... RENAME would rewrite them)."""
    rows = conn.execute("SELECT type, name, sql, tbl_name FROM sqlite_master WHERE sql IS NOT NULL "
                        "AND type IN ('index', 'trigger')").fetchall()
    return [(kind.upper(), name, sql) for kind, name, sql, tbl in rows
            if tbl == table or (kind == "trigger" and re.search(rf"\b{table}\b", sql))]


def _to_tahoe(conn: sqlite3.Connection) -> None:
    for statement in TAHOE_TABLES:
        conn.execute(statement)
    conn.execute("INSERT INTO chat_service (service, chat) SELECT service_name, ROWID FROM chat")
    conn.execute("INSERT INTO chat_lookup (identifier, domain, chat) SELECT chat_identifier, "
                 "CASE WHEN style = 43 THEN 'group' ELSE 'handle' END, ROWID FROM chat")
    conn.execute("UPDATE chat SET guid = 'any;' || substr(guid, instr(guid, ';') + 1), service_name = 'any'")
    for statement in TAHOE_TRIGGERS:
        conn.execute(statement)


def _merge_any_chats(conn: sqlite3.Connection) -> None:
    """macOS 26 keeps one `any` chat per address: a person's iMessage and SMS chats become one (the lowest
    ROWID keeps the rows)."""
    conn.execute("CREATE TEMP TABLE any_chat AS SELECT ROWID AS old, min(ROWID) OVER (PARTITION BY "
                 "substr(guid, instr(guid, ';') + 1)) AS new FROM chat")
    conn.execute("UPDATE chat_message_join SET chat_id = (SELECT new FROM temp.any_chat WHERE old = chat_id) "
                 "WHERE chat_id IN (SELECT old FROM temp.any_chat WHERE old != new)")
    conn.execute("UPDATE OR IGNORE chat_handle_join SET chat_id = (SELECT new FROM temp.any_chat WHERE old = chat_id)"
                 " WHERE chat_id IN (SELECT old FROM temp.any_chat WHERE old != new)")
    conn.execute("DELETE FROM chat_handle_join WHERE chat_id IN (SELECT old FROM temp.any_chat WHERE old != new)")
    conn.execute("DELETE FROM chat WHERE ROWID IN (SELECT old FROM temp.any_chat WHERE old != new)")
    conn.execute("DROP TABLE temp.any_chat")


def _delete_messages(conn: sqlite3.Connection, where: str) -> None:
    """Rows a macOS never wrote: gone without a trace (Apple's triggers, which would record the deletion
    in deleted_messages, are lifted meanwhile)."""
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for name, _sql in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    gone = f"(SELECT ROWID FROM message WHERE {where})"
    conn.execute(f"DELETE FROM attachment WHERE ROWID IN (SELECT attachment_id FROM message_attachment_join "
                 f"WHERE message_id IN {gone})")
    conn.execute(f"DELETE FROM message_attachment_join WHERE message_id IN {gone}")
    conn.execute(f"DELETE FROM chat_message_join WHERE message_id IN {gone}")
    conn.execute(f"DELETE FROM message WHERE ROWID IN {gone}")
    for _name, sql in triggers:
        conn.execute(sql)


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts

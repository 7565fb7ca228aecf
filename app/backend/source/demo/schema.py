"""Apple's chat.db DDL (chatdb_schema.sql) and the SQL functions its triggers call.

Messages registers C functions on its connection that the triggers call (deleting attachment
files, notifying plugins). A database built from this DDL needs stand-ins with the same names
and arities on every connection that fires those triggers; `register_apple_functions` adds them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("chatdb_schema.sql")

# name -> arity of the Apple-only functions chat.db triggers (on this and older macOS) call.
APPLE_FUNCTIONS: dict[str, int] = {
    "delete_attachment_path": 1,
    "before_delete_attachment_path": 2,
    "after_delete_message_plugin": 2,
    "verify_chat": 1,
    "after_delete_attachment_path": 1,
    # macOS 26 (variants.py)
    "chat_service_did_change": 2,
    "chat_lookup_did_change": 1,
    "schedule_message_send": 2,
}


@dataclass(frozen=True)
class ChatDbSchema:
    """The DDL split by kind, in file order: bulk loads create indexes and triggers last."""

    tables: tuple[str, ...]
    indexes: tuple[str, ...]
    triggers: tuple[str, ...]
    rows: tuple[str, ...]


def load_schema(path: Path = SCHEMA_PATH) -> ChatDbSchema:
    statements = split_statements(path.read_text(encoding="utf-8"))
    kinds: dict[str, list[str]] = {"TABLE": [], "INDEX": [], "TRIGGER": [], "INSERT": []}
    for statement in statements:
        words = statement.split(None, 2)
        kind = words[1].upper() if words[0].upper() == "CREATE" else words[0].upper()
        kinds[kind].append(statement)
    return ChatDbSchema(tuple(kinds["TABLE"]), tuple(kinds["INDEX"]), tuple(kinds["TRIGGER"]), tuple(kinds["INSERT"]))


def split_statements(sql: str) -> list[str]:
    """Complete statements (without their final ';'), comments and blank lines dropped."""
    statements, pending = [], ""
    for line in sql.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue
        pending += line + "\n"
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip().rstrip(";").strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement at the end of the schema: {pending[:80]!r}")
    return statements


def register_apple_functions(conn: sqlite3.Connection) -> None:
    """Stand-ins (returning NULL, doing nothing) for Messages' trigger functions."""
    for name, arity in APPLE_FUNCTIONS.items():
        conn.create_function(name, arity, _ignore, deterministic=True)


def _ignore(*_args: object) -> None:
    return None

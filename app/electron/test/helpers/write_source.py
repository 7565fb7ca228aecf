"""Writes to the demo source like Messages does, for the browser tests: one JSON command a line on stdin,
one JSON answer a line on stdout. It stays running so that a write costs milliseconds, not an interpreter
start, and the test can time the path from the write to the page.

Run with the project's venv and CHATSTATS_DATA_DIR pointing at the data dir of a `chatstats up --demo`:

    {"op": "message", "chat_id": 3, "text": "...", "at": 1700000000.0}  -> {"ok": true, "guid": "..."}
                                   ("at", unix seconds, optional: a message dated in the past)
    {"op": "edit", "guid": "...", "text": "..."}      -> {"ok": true}
    {"op": "tapback", "guid": "...", "kind": 2001}    -> {"ok": true, "guid": "<the tapback's guid>"}
    {"op": "unsend", "guid": "..."}                   -> {"ok": true}
    {"op": "top_person"}  -> {"ok": true, "name": "...", "messages": N}  (read-only SQL on central.db: the
                             named contact with the most visible messages in one-to-one chats, all time)

`chat_id` is the mirror's id (what the API shows); the chat's guid in the source comes from central.db.
It prints {"ok": true, "ready": true} once the writer is open.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from backend.config import data_dir
from backend.source.demo.live import LiveSourceWriter
from backend.source.locate import demo_dir


def source_chat_guid(central_db: Path, chat_id: int) -> str:
    """The source guid of a mirrored chat (read-only look-up in central.db)."""
    conn = sqlite3.connect(f"file:{central_db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT source_guid FROM chat_sources WHERE chat_id = ? ORDER BY source_rowid LIMIT 1",
                           (chat_id,)).fetchone()
    finally:
        conn.close()
    if row is None:
        raise LookupError(f"chat {chat_id} has no source chat in {central_db}")
    return row[0]


def top_person(central_db: Path) -> dict[str, Any]:
    """Counted here with plain SQL, not by the backend: the answer Eve's "Who do I text the most?" must give."""
    conn = sqlite3.connect(f"file:{central_db}?mode=ro", uri=True)
    try:
        name, messages = conn.execute("""
            SELECT coalesce(w.display_name, c.display_name), count(DISTINCT m.id) AS n
            FROM chat_participants p
            JOIN chats ch ON ch.id = p.chat_id AND ch.is_group = 0
            JOIN contacts c ON c.id = p.contact_id
            LEFT JOIN contacts w ON w.id = c.merged_into_id
            JOIN messages m ON m.chat_id = ch.id AND m.kind = 'message' AND m.deleted_at IS NULL
            GROUP BY coalesce(w.id, c.id) ORDER BY n DESC LIMIT 1""").fetchone()
    finally:
        conn.close()
    return {"name": name, "messages": messages}


def run(writer: LiveSourceWriter, central_db: Path, command: dict[str, Any]) -> dict[str, Any]:
    op = command["op"]
    if op == "message":
        guid = writer.write_message(chat_guid=source_chat_guid(central_db, int(command["chat_id"])),
                                    text=command["text"], from_me=command.get("from_me", False),
                                    at=command.get("at"))
        return {"ok": True, "guid": guid}
    if op == "edit":
        writer.edit_message(command["guid"], command["text"])
        return {"ok": True}
    if op == "tapback":
        guid = writer.add_tapback(command["guid"], kind=int(command.get("kind", 2001)),
                                  from_me=command.get("from_me", False))
        return {"ok": True, "guid": guid}
    if op == "unsend":
        writer.unsend_message(command["guid"])
        return {"ok": True}
    if op == "top_person":
        return {"ok": True, **top_person(central_db)}
    raise ValueError(f"unknown op {op!r}")


def main() -> int:
    chat_db = demo_dir() / "chat.db"
    central_db = data_dir() / "central.db"
    with LiveSourceWriter(chat_db) as writer:
        print(json.dumps({"ok": True, "ready": True}), flush=True)
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                answer = run(writer, central_db, json.loads(line))
            except Exception as exc:  # noqa: BLE001 - the test reads the reason
                answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The fast paths of a first import give exactly the mirror the plain paths give."""

from __future__ import annotations

import logging
import sqlite3
from itertools import count
from pathlib import Path

import pytest

from backend.config import get_settings, reset_settings_cache
from backend.conversations.split import plan_conversations
from backend.db.engine import dispose_engines
from backend.mirror import decode_pool, importer
from backend.mirror.importer import import_source

GAP_MS = 90 * 60_000
NS_PER_MS = 1_000_000

# Columns whose value is the time of the import itself.
_CLOCK_COLUMNS = {"updated_at", "sealed_at", "created_at"}


def _import_into(monkeypatch, data_dir: Path, source: Path):
    monkeypatch.setenv("CHATSTATS_DATA_DIR", str(data_dir))
    reset_settings_cache()
    dispose_engines()
    return import_source(get_settings(), source=source / "chat.db", addressbook_dir=source / "AddressBook")


def _mirror_rows(data_dir: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(data_dir / "central.db")
    try:
        tables = {}
        for table in ("messages", "conversations", "reactions", "message_edits", "attachments", "chats",
                      "messages_fts_docsize"):
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] not in _CLOCK_COLUMNS]
            tables[table] = conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1").fetchall()
        return tables
    finally:
        conn.close()


@pytest.mark.parametrize("plan_in_workers", [True, False], ids=["texts-and-plan-in-workers", "texts-in-a-worker"])
def test_the_source_read_in_workers_gives_the_same_mirror_as_the_import_reading_it(demo_source, tmp_path, monkeypatch,
                                                                                   plan_in_workers):
    taken = []
    result = decode_pool.PendingPreRead.result
    monkeypatch.setattr(decode_pool.PendingPreRead, "result", lambda self: taken.append(result(self)) or taken[-1])

    monkeypatch.setattr(importer.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(importer, "PRE_READ_THRESHOLD", 0)
    monkeypatch.setattr(importer, "PLAN_IN_WORKERS_MIN_CPUS", 2 if plan_in_workers else 3)
    workers = _import_into(monkeypatch, tmp_path / "workers", demo_source)
    monkeypatch.setattr(importer, "PRE_READ_THRESHOLD", 10**9)
    in_copy = _import_into(monkeypatch, tmp_path / "copy", demo_source)

    assert len(taken) == 1 and taken[0] is not None  # the first import did use the workers' texts
    assert taken[0].needs_extras and taken[0].needs_edits
    assert bool(taken[0].spans) is plan_in_workers
    assert workers.written == in_copy.written and workers.counts == in_copy.counts
    with_workers, without = _mirror_rows(tmp_path / "workers"), _mirror_rows(tmp_path / "copy")
    for table, rows in without.items():
        assert with_workers[table] == rows, table
    conn = sqlite3.connect(tmp_path / "workers" / "central.db")
    texts, extras, edits = conn.execute(
        "SELECT count(text), count(body_json), (SELECT count(*) FROM message_edits) FROM messages").fetchone()
    conn.close()
    assert texts > len(without["messages"]) // 2 and extras > 0 and edits > 0


def test_a_source_that_changes_while_workers_read_it_is_decoded_by_the_copy(demo_source, tmp_path, monkeypatch,
                                                                             caplog):
    ticks = count()
    monkeypatch.setattr(decode_pool, "change_signature", lambda path: next(ticks))  # a commit between any two looks
    monkeypatch.setattr(importer.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(importer, "PRE_READ_THRESHOLD", 0)
    with caplog.at_level(logging.INFO, logger="backend.mirror.decode_pool"):
        changed = _import_into(monkeypatch, tmp_path / "changed", demo_source)
    assert "the source changed while it was read" in caplog.text
    monkeypatch.setattr(importer, "PRE_READ_THRESHOLD", 10**9)
    plain = _import_into(monkeypatch, tmp_path / "plain", demo_source)
    assert changed.written == plain.written
    assert _mirror_rows(tmp_path / "changed") == _mirror_rows(tmp_path / "plain")


def test_the_source_signature_moves_with_every_commit_and_only_then(demo_source):
    from backend.source.chatdb.reader import change_signature, open_readonly

    path = demo_source / "chat.db"
    held = open_readonly(path)  # as Messages does, a connection stays open: the WAL is not folded back
    writer = sqlite3.connect(path)
    try:
        assert writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        writer.execute("CREATE TABLE scratch (x)")
        writer.commit()
        before = change_signature(path)
        held.execute("SELECT count(*) FROM message").fetchone()  # readers alone change nothing
        assert change_signature(path) == before
        for value in range(3):
            writer.execute("INSERT INTO scratch VALUES (?)", (value,))
            writer.commit()
            after = change_signature(path)
            assert after != before
            before = after
    finally:
        writer.close()
        held.close()


def _add_messages(source: Path, offsets_ms: list[int]) -> tuple[int, list[str]]:
    """Copies of a chat's last message at base + offset (ms), after everything else; returns (chat ROWID, guids)."""
    from backend.source.demo.schema import register_apple_functions

    src = sqlite3.connect(source / "chat.db")
    register_apple_functions(src)
    rowid, chat_id, date = src.execute("""
        SELECT j.message_id, j.chat_id, m.date FROM chat_message_join j JOIN message m ON m.ROWID = j.message_id
        WHERE coalesce(m.associated_message_type, 0) = 0 ORDER BY m.date DESC LIMIT 1
    """).fetchone()
    base = (date // NS_PER_MS + 10 * GAP_MS) * NS_PER_MS
    columns = [r[1] for r in src.execute("PRAGMA table_info(message)") if r[1] != "ROWID"]
    guids = []
    for index, offset in enumerate(offsets_ms):
        guid = f"EDGE-{index}"
        overrides = {"guid": f"'{guid}'", "text": f"'edge case {index}'", "attributedBody": "NULL",
                     "date": str(base + offset * NS_PER_MS), "associated_message_type": "0",
                     "message_summary_info": "NULL"}
        select = ", ".join(overrides.get(c, c) for c in columns)
        src.execute(f"INSERT INTO message ({', '.join(columns)}) SELECT {select} FROM message WHERE ROWID = ?",
                    (rowid,))
        src.execute("INSERT INTO chat_message_join (chat_id, message_id, message_date) "
                    "SELECT ?, ROWID, date FROM message WHERE guid = ?", (chat_id, guid))
        guids.append(guid)
    src.commit()
    src.close()
    return chat_id, guids


def test_bulk_plan_splits_as_the_split_function_does(demo_source, tmp_path, monkeypatch):
    # ties, a message exactly one gap after the previous (same conversation), one a millisecond more (new)
    _chat, guids = _add_messages(demo_source, [0, 0, GAP_MS, 2 * GAP_MS + 1, 2 * GAP_MS + 1, 3 * GAP_MS + 1])
    summary = _import_into(monkeypatch, tmp_path / "bulk", demo_source)
    assert summary.mode == "shadow"
    conn = sqlite3.connect(tmp_path / "bulk" / "central.db")
    edge = dict(conn.execute(f"SELECT guid, conversation_id FROM messages WHERE guid IN "
                             f"({','.join('?' * len(guids))})", guids).fetchall())
    assert edge["EDGE-0"] == edge["EDGE-1"] == edge["EDGE-2"]
    assert edge["EDGE-3"] == edge["EDGE-4"] == edge["EDGE-5"] != edge["EDGE-2"]

    chats = [chat for (chat,) in conn.execute("SELECT DISTINCT chat_id FROM messages")]
    assert len(chats) > 5
    for chat in chats:
        timeline = conn.execute("SELECT id, sent_at, conversation_id FROM messages WHERE chat_id = ? "
                                "ORDER BY sent_at, id", (chat,)).fetchall()
        planned = plan_conversations([(mid, at, None) for mid, at, _conv in timeline], GAP_MS)
        mirrored: dict[int, list[int]] = {}
        for mid, _at, conv in timeline:
            mirrored.setdefault(conv, []).append(mid)
        assert [p.message_ids for p in planned] == list(mirrored.values())
        stored = conn.execute("SELECT id, started_at, last_message_at, message_count FROM conversations "
                              "WHERE chat_id = ? ORDER BY started_at", (chat,)).fetchall()
        assert [(s[1], s[2], s[3]) for s in stored] == [
            (p.started_at, p.last_message_at, len(p.message_ids)) for p in planned]
        assert [s[0] for s in stored] == list(mirrored)
    conn.close()

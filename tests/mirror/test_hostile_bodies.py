"""A body whose string is intact but whose attribute dictionary is hostile becomes a flagged message with
NULL text, through the bulk import and through live sync (issue 17; source/DECODERS.md, the fast path)."""

from __future__ import annotations

import plistlib
import resource
import sqlite3
from pathlib import Path

from backend.config import get_settings
from backend.mirror.importer import import_source
from backend.source.demo.live import LiveSourceWriter
from backend.source.demo.schema import register_apple_functions
from tests.hostile_blobs import over_visit_limit_body, self_referencing_body

SECRET = "zanzibar"  # the word in every hostile body's string: it must not reach the mirror


def _mirror() -> sqlite3.Connection:
    conn = sqlite3.connect(get_settings().central_db_path)
    conn.row_factory = sqlite3.Row
    return conn


def _make_hostile(chat_db: Path, rowids: list[int]) -> dict[str, str]:
    """Gives the source rows a hostile body (and no `text` column); returns guid -> kind."""
    conn = sqlite3.connect(chat_db)
    register_apple_functions(conn)
    kinds: dict[str, str] = {}
    try:
        for n, rowid in enumerate(rowids):
            kind = "itself" if n % 2 == 0 else "visits"
            text = f"{SECRET} number {n}"
            blob = self_referencing_body(text) if kind == "itself" else over_visit_limit_body(text)
            conn.execute("UPDATE message SET text = NULL, attributedBody = ? WHERE ROWID = ?", (blob, rowid))
            kinds[conn.execute("SELECT guid FROM message WHERE ROWID = ?", (rowid,)).fetchone()[0]] = kind
        conn.commit()
    finally:
        conn.close()
    return kinds


def _assert_flagged(kinds: dict[str, str]) -> None:
    conn = _mirror()
    rows = {r["guid"]: r for r in conn.execute(
        f"SELECT guid, text, decode_error FROM messages WHERE guid IN ({','.join('?' * len(kinds))})",
        list(kinds))}
    assert set(rows) == set(kinds)
    for guid, kind in kinds.items():
        assert rows[guid]["text"] is None, guid
        error = rows[guid]["decode_error"]
        assert error and ("contains itself" in error if kind == "itself" else "visit budget" in error), error
    assert conn.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?", (SECRET,)).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM messages WHERE text LIKE ?", (f"%{SECRET}%",)).fetchone()[0] == 0


def test_a_bulk_import_flags_hostile_bodies_with_null_text(source):
    chat_db = source / "chat.db"
    with sqlite3.connect(f"file:{chat_db}?mode=ro", uri=True) as conn:
        rowids = [r for (r,) in conn.execute(
            "SELECT ROWID FROM message WHERE coalesce(associated_message_type, 0) = 0 "
            "AND attributedBody IS NOT NULL ORDER BY ROWID LIMIT 6")]
        total = conn.execute("SELECT count(*) FROM message").fetchone()[0]
    assert len(rowids) == 6 and total > 100
    kinds = _make_hostile(chat_db, rowids)
    summary = import_source(get_settings(), source=chat_db, addressbook_dir=source / "AddressBook")
    _assert_flagged(kinds)
    undecodable = _mirror().execute(
        "SELECT count(*) FROM messages WHERE text IS NULL AND decode_error IS NOT NULL").fetchone()[0]
    assert summary.written["undecodable"] == undecodable >= len(kinds)


def test_live_sync_flags_a_hostile_body_with_null_text(live_sync, imported):
    with LiveSourceWriter(imported / "chat.db", seed=5) as writer:
        guids = [writer.write_message(text=f"placeholder {n}") for n in range(2)]
    with sqlite3.connect(imported / "chat.db") as conn:
        rowids = [conn.execute("SELECT ROWID FROM message WHERE guid = ?", (g,)).fetchone()[0] for g in guids]
    kinds = _make_hostile(imported / "chat.db", rowids)
    assert set(kinds) == set(guids)
    result = live_sync.run_pass()
    assert result.new_messages == 2
    _assert_flagged(kinds)


def test_a_huge_unsent_part_number_in_a_summary_costs_the_import_nothing(source):
    """The issue's 76-byte message_summary_info (one such row made a 2,000-message import take 15.7 s and
    2.28 GB): the rows are mirrored with their text, not taken for unsent, and the import stays small."""
    chat_db = source / "chat.db"
    conn = sqlite3.connect(chat_db)
    register_apple_functions(conn)
    try:
        rows = conn.execute(
            "SELECT ROWID, guid FROM message WHERE coalesce(associated_message_type, 0) = 0 "
            "AND coalesce(text, '') != '' AND message_summary_info IS NULL ORDER BY ROWID LIMIT 3").fetchall()
        for (rowid, _guid), part in zip(rows, (10**7, 10**12, 2**63 - 1), strict=True):
            summary = plistlib.dumps({"amc": 0, "ust": True, "rp": [part], "otr": {}}, fmt=plistlib.FMT_BINARY)
            assert len(summary) < 100
            conn.execute("UPDATE message SET message_summary_info = ? WHERE ROWID = ?", (summary, rowid))
        conn.commit()
        texts = {guid: conn.execute("SELECT text FROM message WHERE guid = ?", (guid,)).fetchone()[0]
                 for _rowid, guid in rows}
    finally:
        conn.close()
    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    import_source(get_settings(), source=chat_db, addressbook_dir=source / "AddressBook")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before_kb) / 1024
    mirrored = {r["guid"]: r for r in _mirror().execute(
        f"SELECT guid, text, is_unsent FROM messages WHERE guid IN ({','.join('?' * len(texts))})", list(texts))}
    assert {guid: (r["text"], r["is_unsent"]) for guid, r in mirrored.items()} == {
        guid: (text, 0) for guid, text in texts.items()}
    assert grown_mb < 200  # the set of 10^7 part numbers alone was 605 MB

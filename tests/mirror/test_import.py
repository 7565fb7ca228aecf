from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from backend.config import get_settings
from backend.mirror.importer import import_source
from backend.source.attributed_body import decode_body_text
from backend.source.dates import apple_to_unix_ms
from backend.source.errors import SourceDatabaseCorrupt, SourceDatabaseMissing

GAP_MS = 90 * 60_000


def _import(source: Path):
    return import_source(get_settings(), source=source / "chat.db", addressbook_dir=source / "AddressBook")


def _mirror() -> sqlite3.Connection:
    conn = sqlite3.connect(get_settings().central_db_path)
    conn.row_factory = sqlite3.Row
    return conn


def _source(source: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{source / 'chat.db'}?mode=ro", uri=True)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def test_every_source_message_is_mirrored_with_its_text(demo_source):
    summary = _import(demo_source)
    assert summary.mode == "shadow"
    src = _source(demo_source)
    rows = src.execute("""
        SELECT guid, text, attributedBody, date, is_from_me FROM message
        WHERE associated_message_type NOT BETWEEN 2000 AND 3007 OR associated_message_type IS NULL
    """).fetchall()
    mirror = {r["guid"]: r for r in _mirror().execute("SELECT guid, text, sent_at, is_from_me FROM messages")}
    assert len(mirror) == len(rows) == summary.counts["messages"]
    checked_body_only = 0
    for guid, text, body, date, is_from_me in rows:
        mirrored = mirror[guid]
        assert mirrored["is_from_me"] == is_from_me
        if date:
            assert mirrored["sent_at"] == apple_to_unix_ms(date)
        expected = text or decode_body_text(body)
        if expected is not None:
            assert mirrored["text"] == expected
        if not text and body and expected:
            checked_body_only += 1
    assert checked_body_only > len(rows) // 2  # most texts came out of attributedBody


def test_conversations_split_at_the_gap(demo_source):
    _import(demo_source)
    conn = _mirror()
    rows = conn.execute("SELECT chat_id, conversation_id, sent_at FROM messages ORDER BY chat_id, sent_at, id").fetchall()
    assert all(r["conversation_id"] is not None for r in rows)
    splits = 0
    for previous, current in zip(rows, rows[1:], strict=False):
        if previous["chat_id"] != current["chat_id"]:
            continue
        gap = current["sent_at"] - previous["sent_at"]
        if previous["conversation_id"] == current["conversation_id"]:
            assert gap <= GAP_MS
        else:
            assert gap > GAP_MS
            splits += 1
    assert splits > 10
    stored = conn.execute("""
        SELECT c.id, c.started_at, c.last_message_at, c.message_count,
               min(m.sent_at) AS first, max(m.sent_at) AS last, count(m.id) AS n
        FROM conversations c JOIN messages m ON m.conversation_id = c.id GROUP BY c.id
    """).fetchall()
    assert stored and all((r["started_at"], r["last_message_at"], r["message_count"]) == (r["first"], r["last"], r["n"])
                          for r in stored)


def test_tapbacks_become_the_latest_reaction_state(demo_source):
    _import(demo_source)
    src = _source(demo_source)
    events = src.execute("""
        SELECT m.associated_message_type, m.associated_message_guid, m.is_from_me, h.id, m.date, m.ROWID
        FROM message m LEFT JOIN handle h ON h.ROWID = m.handle_id
        WHERE m.associated_message_type BETWEEN 2000 AND 2005 OR m.associated_message_type BETWEEN 3000 AND 3005
        ORDER BY m.date, m.ROWID
    """).fetchall()
    assert any(t >= 3000 for t, *_ in events), "the demo source removes some tapbacks"
    expected: dict[tuple, bool] = {}
    for kind, target, from_me, handle, _date, _rowid in events:
        target_guid = target.split("/", 1)[1] if target.startswith("p:") else target.removeprefix("bp:")
        expected[(bool(from_me), handle if not from_me else None, target_guid, kind % 1000)] = kind < 3000
    kinds = {"love": 0, "like": 1, "dislike": 2, "laugh": 3, "emphasize": 4, "question": 5}
    conn = _mirror()
    mirrored = {}
    for r in conn.execute("""
        SELECT r.is_from_me, r.target_guid, r.kind, r.is_active, r.message_id, h.identifier
        FROM reactions r LEFT JOIN handles h ON h.contact_id = r.sender_contact_id
        WHERE r.kind IN ('love','like','dislike','laugh','emphasize','question')
    """):
        key = (bool(r["is_from_me"]), None if r["is_from_me"] else r["identifier"], r["target_guid"], kinds[r["kind"]])
        mirrored.setdefault(key, bool(r["is_active"]))
    active_expected = {k for k, v in expected.items() if v}
    active_mirrored = {k for k, v in mirrored.items() if v}
    assert {k[2:] for k in active_expected} == {k[2:] for k in active_mirrored}
    assert conn.execute("SELECT count(*) FROM reactions WHERE is_active = 0").fetchone()[0] > 0
    assert conn.execute("SELECT count(*) FROM reactions WHERE message_id IS NULL").fetchone()[0] == 0


def test_contacts_names_and_identities(demo_source):
    _import(demo_source)
    conn = _mirror()
    named = conn.execute("SELECT count(*) FROM contacts WHERE display_name IS NOT NULL").fetchone()[0]
    assert named > 10
    # every identifier belongs to exactly one live contact
    orphans = conn.execute("""
        SELECT count(*) FROM contact_identifiers ci JOIN contacts c ON c.id = ci.contact_id
        WHERE c.merged_into_id IS NOT NULL
    """).fetchone()[0]
    assert orphans == 0
    # a person over iMessage and SMS is one contact and one chat
    shared = conn.execute("""
        SELECT h.contact_id FROM handles h GROUP BY h.identifier HAVING count(DISTINCT h.service) > 1 LIMIT 1
    """).fetchone()
    assert shared is not None
    services = conn.execute("""
        SELECT group_concat(DISTINCT cs.service) FROM chats c JOIN chat_sources cs ON cs.chat_id = c.id
        WHERE c.chat_key = (SELECT 'dm:' || contact_key FROM contacts WHERE id = ?)
    """, (shared[0],)).fetchone()[0]
    assert set(services.split(",")) >= {"iMessage", "SMS"}  # one chat, fed by both chat.db chats
    # numbers of different countries with equal last 10 digits stay different people
    phones = [r[0] for r in conn.execute("SELECT value FROM contact_identifiers WHERE kind = 'phone'")]
    by_tail: dict[str, set[str]] = {}
    for phone in phones:
        by_tail.setdefault(phone[-10:], set()).add(phone)
    for same_tail in (v for v in by_tail.values() if len(v) > 1):
        owners = {conn.execute("SELECT contact_id FROM contact_identifiers WHERE value = ?", (p,)).fetchone()[0]
                  for p in same_tail}
        assert len(owners) == len(same_tail)


def test_full_text_index_finds_message_words(demo_source):
    _import(demo_source)
    conn = _mirror()
    text, message_id = conn.execute(
        "SELECT text, id FROM messages WHERE text LIKE '% %' AND length(text) > 20 ORDER BY id LIMIT 1 OFFSET 17"
    ).fetchone()
    word = max((w.strip(".,!?'\"") for w in text.split()), key=len)
    hits = {r[0] for r in conn.execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?", (f'"{word}"',))}
    assert message_id in hits
    assert conn.execute("INSERT INTO messages_fts(messages_fts) VALUES('integrity-check')") is not None


def test_import_is_idempotent_and_picks_up_new_messages(demo_source):
    first = _import(demo_source)
    conn = _mirror()
    snapshot = conn.execute("SELECT guid, text, chat_id, conversation_id, sent_at FROM messages ORDER BY guid").fetchall()
    conn.close()
    second = _import(demo_source)
    assert second.mode == "in_place" and second.written["messages_new"] == 0
    assert second.counts == first.counts
    conn = _mirror()
    assert conn.execute(
        "SELECT guid, text, chat_id, conversation_id, sent_at FROM messages ORDER BY guid").fetchall() == snapshot

    from backend.source.demo.schema import register_apple_functions  # a newer copy: Messages wrote more

    src = sqlite3.connect(demo_source / "chat.db")
    register_apple_functions(src)
    rowid, chat_id = src.execute(  # the latest message proper (the generated data depends on the clock)
        "SELECT j.message_id, j.chat_id FROM chat_message_join j JOIN message m ON m.ROWID = j.message_id "
        "WHERE coalesce(m.associated_message_type, 0) = 0 ORDER BY j.message_date DESC LIMIT 1").fetchone()
    columns = [r[1] for r in src.execute("PRAGMA table_info(message)") if r[1] != "ROWID"]
    overrides = {"guid": "'NEW-GUID-1'", "text": "'zebra crossing tomorrow'", "attributedBody": "NULL",
                 "date": "date + 60000000000", "associated_message_type": "0", "message_summary_info": "NULL"}
    select = ", ".join(overrides.get(c, c) for c in columns)
    src.execute(f"INSERT INTO message ({', '.join(columns)}) SELECT {select} FROM message WHERE ROWID = ?", (rowid,))
    new_rowid = src.execute("SELECT max(ROWID) FROM message").fetchone()[0]
    src.execute("INSERT INTO chat_message_join (chat_id, message_id, message_date) "
                "SELECT ?, ROWID, date FROM message WHERE ROWID = ?", (chat_id, new_rowid))
    src.commit()
    src.close()
    third = _import(demo_source)
    assert third.written["messages_new"] == 1
    row = _mirror().execute("SELECT m.text, m.conversation_id, p.conversation_id AS prev FROM messages m "
                            "JOIN messages p ON p.source_rowid = ? WHERE m.guid = 'NEW-GUID-1'", (rowid,)).fetchone()
    assert row["text"] == "zebra crossing tomorrow"
    assert row["conversation_id"] == row["prev"]  # one minute later: same conversation
    assert _mirror().execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'zebra'").fetchone() is not None


def test_source_files_are_never_modified(demo_source):
    files = [demo_source / "chat.db", *sorted((demo_source / "AddressBook").rglob("*.abcddb"))]
    before = {f: _digest(f) for f in files}
    _import(demo_source)
    _import(demo_source)
    assert {f: _digest(f) for f in files} == before
    # SQLite may create an empty -wal beside a WAL database it reads (Messages keeps one there anyway)
    wal = demo_source / "chat.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0


def test_malformed_rows_are_kept_and_reported(demo_source):
    summary = _import(demo_source)
    conn = _mirror()
    flagged = conn.execute("SELECT count(*) FROM messages WHERE decode_error IS NOT NULL AND text IS NULL").fetchone()[0]
    assert flagged >= 1 and summary.written["undecodable"] == flagged
    unknown = conn.execute("SELECT count(*) FROM messages m JOIN chats c ON c.id = m.chat_id "
                           "WHERE c.chat_key = 'unknown:no-chat'").fetchone()[0]
    assert unknown >= 1 and summary.written["without_chat"] == unknown
    assert any("no chat" in w for w in summary.warnings)
    seconds_dated = _source(demo_source).execute(
        "SELECT guid, date FROM message WHERE date > 0 AND date < 10000000000").fetchall()
    for guid, date in seconds_dated:  # pre-High-Sierra dates in seconds land in the right year
        sent_at = conn.execute("SELECT sent_at FROM messages WHERE guid = ?", (guid,)).fetchone()
        if sent_at:
            assert sent_at[0] == 978_307_200_000 + date * 1000


def test_missing_and_corrupt_sources_fail_clearly_without_touching_the_mirror(demo_source, tmp_path):
    _import(demo_source)
    before = _mirror().execute("SELECT count(*) FROM messages").fetchone()[0]
    with pytest.raises(SourceDatabaseMissing, match="demo-source"):
        import_source(get_settings(), source=tmp_path / "nope" / "chat.db")
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database" * 100)
    with pytest.raises(SourceDatabaseCorrupt, match="not an SQLite database"):
        import_source(get_settings(), source=corrupt)
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes((demo_source / "chat.db").read_bytes()[:8192])
    with pytest.raises(SourceDatabaseCorrupt):
        import_source(get_settings(), source=truncated)
    assert _mirror().execute("SELECT count(*) FROM messages").fetchone()[0] == before


def test_real_captured_chat_db(testdata_dir):
    summary = import_source(get_settings(), source=testdata_dir / "imessage-exporter" / "db" / "test.db")
    conn = _mirror()
    texts = {r[0]: r[1] for r in conn.execute("SELECT guid, text FROM messages")}
    assert texts["0355C6E1-D0C8-4212-AA87-DD8AE4FD1203"] == (
        "I\u2019m going to try to eat as quick as possible and then come over")
    assert texts["FAKEGUID-D0C8-4212-AA87-DD8AE4FD1203"].startswith("https://www.ghacks.net/")
    assert summary.written["without_chat"] == 2 and summary.written["missing_attachment_files"] == 3
    created = [r[0] for r in conn.execute("SELECT created_at FROM attachments ORDER BY source_rowid")]
    assert created[0] == 978_307_200_000 + 756682121 * 1000  # seconds, not nanoseconds

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.source.addressbook.reader import read_contacts
from backend.source.attributed_body import OBJECT_REPLACEMENT, decode_attributed_body, encode_body
from backend.source.demo.bodies import BodyEncoder
from backend.source.demo.generator import DemoSourceExists, generate_demo_source, planted_topics
from backend.source.summary_info import decode_summary_info
from backend.source.tapbacks import parse_tapback

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SIZE = {"messages": 2_400, "chats": 14, "contacts": 40}
GAP_NS = 90 * 60 * 1_000_000_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "Messages"
    summary = generate_demo_source(out, seed=11, now=NOW, **SIZE)
    return out, summary


@pytest.fixture()
def db(demo):
    out, _ = demo
    with closing(sqlite3.connect(f"file:{out / 'chat.db'}?mode=ro", uri=True)) as conn:
        yield conn


def _dump(path: Path) -> dict[str, list[tuple]]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}


def _schema(conn: sqlite3.Connection) -> set[tuple]:
    return set(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))


def test_chat_db_is_sound_wal_and_sized_as_asked(demo, db):
    out, summary = demo
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert db.execute("SELECT count(*) FROM message").fetchone()[0] == SIZE["messages"] == summary.messages
    assert db.execute("SELECT count(*) FROM chat").fetchone()[0] == SIZE["chats"] == summary.chats
    assert db.execute("SELECT count(*) FROM handle").fetchone()[0] == summary.handles
    assert db.execute("SELECT count(*) FROM attachment").fetchone()[0] == summary.attachments > 0
    assert summary.reactions > 0 and summary.edited > 0 and summary.unsent > 0
    assert (out / "demo_source.json").is_file()


def test_schema_is_the_real_chat_db_schema(db, testdata_dir):
    real = testdata_dir / "imessage-exporter" / "db" / "test.db"
    with closing(sqlite3.connect(f"file:{real}?mode=ro", uri=True)) as conn:
        expected = _schema(conn)
    assert _schema(db) == expected
    columns = {r[1] for r in db.execute("PRAGMA table_info(message)")}
    assert {"date_edited", "date_retracted", "message_summary_info", "thread_originator_part",
            "associated_message_emoji", "part_count", "schedule_type"} <= columns


def test_triggers_run_with_the_stand_in_functions(demo, tmp_path):
    out, _ = demo
    copy = tmp_path / "copy.db"
    with closing(sqlite3.connect(f"file:{out / 'chat.db'}?mode=ro", uri=True)) as src, \
            closing(sqlite3.connect(copy)) as dst:
        src.backup(dst)
    from backend.source.demo.schema import register_apple_functions

    with closing(sqlite3.connect(copy)) as conn:
        register_apple_functions(conn)
        rowid, guid = conn.execute(
            "SELECT m.ROWID, m.guid FROM message m JOIN message_attachment_join j ON j.message_id = m.ROWID LIMIT 1"
        ).fetchone()
        with conn:
            conn.execute("DELETE FROM message WHERE ROWID = ?", (rowid,))
        assert conn.execute("SELECT count(*) FROM deleted_messages WHERE guid = ?", (guid,)).fetchone() == (1,)


def test_same_seed_and_now_give_the_same_rows(tmp_path):
    small = {"messages": 600, "chats": 8, "contacts": 20}
    first = generate_demo_source(tmp_path / "a", seed=3, now=NOW, **small)
    second = generate_demo_source(tmp_path / "b", seed=3, now=NOW, **small)
    other = generate_demo_source(tmp_path / "c", seed=4, now=NOW, **small)
    assert _dump(tmp_path / "a" / "chat.db") == _dump(tmp_path / "b" / "chat.db")
    assert _dump(tmp_path / "a" / "chat.db") != _dump(tmp_path / "c" / "chat.db")
    cards = lambda root: sorted(  # noqa: E731
        (c.first_name or "", c.last_name or "", c.phones, c.emails) for c in read_contacts(root / "AddressBook"))
    assert cards(tmp_path / "a") == cards(tmp_path / "b")
    assert first.topics == second.topics
    assert sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a" / "Attachments").rglob("*.*")) == \
        sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b" / "Attachments").rglob("*.*"))
    assert other.messages == 600


def test_refuses_to_write_over_an_existing_source(demo):
    out, _ = demo
    with pytest.raises(DemoSourceExists):
        generate_demo_source(out, messages=10, chats=2, contacts=2, now=NOW)


def test_bodies_decode_to_the_text_and_attachments_of_the_row(db):
    joined = defaultdict(list)
    for message_id, guid in db.execute(
        "SELECT j.message_id, a.guid FROM message_attachment_join j JOIN attachment a ON a.ROWID = j.attachment_id"
    ):
        joined[message_id].append(guid)
    rows = db.execute(
        "SELECT ROWID, text, attributedBody, cache_has_attachments FROM message WHERE attributedBody IS NOT NULL"
    ).fetchall()
    compared = failed = 0
    for rowid, text, blob, has_attachments in rows:
        body = decode_attributed_body(blob)
        if body.errors:
            failed += 1
            continue
        if text is not None:
            assert body.text == text
            compared += 1
        if has_attachments:
            assert body.text.count(OBJECT_REPLACEMENT) == len(joined[rowid])
            assert [a.guid for a in body.attachments] == joined[rowid]
    assert failed == 4  # two random and two truncated attributedBody rows
    assert compared > 100
    text_only = db.execute("SELECT count(*) FROM message WHERE text IS NULL AND attributedBody IS NOT NULL").fetchone()[0]
    assert 0.8 < text_only / len(rows) < 0.95


def test_fast_plain_bodies_equal_the_encoder(demo):
    encoder = BodyEncoder()
    for text in ("ok", "let's grab dinner tomorrow at 7", "😂😂😂", "é" * 300, "x" * 70_000, "a\nb"):
        for mutable in (True, False):
            assert encoder.plain(text, mutable=mutable) == encode_body(text, mutable=mutable)


def test_tapbacks_point_at_earlier_messages_of_the_same_chat(db):
    guids = {guid: (rowid, date) for rowid, guid, date in db.execute("SELECT ROWID, guid, date FROM message")}
    chat_of = dict(db.execute("SELECT message_id, chat_id FROM chat_message_join"))
    kinds = Counter()
    rows = db.execute(
        "SELECT ROWID, date, associated_message_type, associated_message_guid, associated_message_emoji,"
        " associated_message_range_length FROM message WHERE associated_message_type >= 2000"
    ).fetchall()
    for rowid, date, kind, target_guid, emoji, length in rows:
        tapback = parse_tapback(kind, target_guid)
        assert tapback is not None and tapback.target_guid in guids
        target_rowid, target_date = guids[tapback.target_guid]
        assert chat_of[target_rowid] == chat_of[rowid] and target_date <= date
        assert (emoji is not None) == (kind % 1000 == 6)
        assert length > 0
        kinds[(tapback.kind, tapback.added)] += 1
    assert kinds[("laugh", True)] and kinds[("love", True)] and kinds[("emoji", True)]
    assert sum(n for (_, added), n in kinds.items() if not added) > 0
    assert any(g.startswith("bp:") for (g,) in db.execute(
        "SELECT associated_message_guid FROM message WHERE associated_message_type >= 2000"))


def test_replies_name_an_existing_part(db):
    rows = db.execute(
        "SELECT thread_originator_guid, thread_originator_part FROM message WHERE thread_originator_guid IS NOT NULL"
    ).fetchall()
    assert rows
    guids = {g for (g,) in db.execute("SELECT guid FROM message")}
    for guid, part in rows:
        assert guid in guids
        index, start, length = (int(x) for x in part.split(":"))
        assert index >= 0 and start >= 0 and length > 0


def test_conversations_have_gaps_under_and_over_90_minutes(db):
    gaps = Counter()
    previous = {}
    for chat_id, date in db.execute(
        "SELECT chat_id, message_date FROM chat_message_join WHERE message_date > 1e15 ORDER BY chat_id, message_date"
    ):
        if chat_id in previous:
            gap = date - previous[chat_id]
            gaps["over" if gap > GAP_NS else "pause" if gap > GAP_NS // 3 else "burst"] += 1
        previous[chat_id] = date
    assert gaps["burst"] > gaps["over"] > 0
    assert gaps["pause"] > 0  # 30-90 minute pauses inside one conversation
    newest = db.execute("SELECT max(date) FROM message").fetchone()[0]
    assert newest <= int((NOW - datetime(2001, 1, 1, tzinfo=UTC)).total_seconds()) * 10**9


def test_malformed_rows_are_there_and_counted(demo, db):
    _, summary = demo
    assert summary.malformed == 10
    assert db.execute("SELECT count(*) FROM message WHERE date = 0").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM message WHERE date > 0 AND date < 1e10 AND text IS NOT NULL").fetchone() == (3,)
    assert db.execute(
        "SELECT count(*) FROM message WHERE ROWID NOT IN (SELECT message_id FROM chat_message_join)").fetchone() == (1,)
    assert db.execute(
        "SELECT count(*) FROM message WHERE handle_id != 0 AND handle_id NOT IN (SELECT ROWID FROM handle)"
    ).fetchone() == (1,)


def test_edits_and_unsends_carry_summary_info(db):
    edited = unsent = 0
    for text, blob, info, part_count, date_edited, date_retracted in db.execute(
        "SELECT text, attributedBody, message_summary_info, part_count, date_edited, date_retracted"
        " FROM message WHERE date_edited > 0"
    ):
        summary = decode_summary_info(info, part_count=part_count)
        assert not summary.errors
        if date_retracted:
            unsent += 1
            assert summary.retracted_parts and text is None
            if summary.fully_unsent:
                assert blob is None or decode_attributed_body(blob).text == ""
        else:
            edited += 1
            versions = summary.edited_parts[0]
            assert len(versions) >= 2 and versions[-1].text == decode_attributed_body(blob).text
            assert versions[0].text != versions[-1].text
            assert versions[0].edited_at_apple_seconds < date_edited / 1e9 + 1
    assert edited and unsent


def test_handles_chats_and_group_events(db):
    handles = db.execute("SELECT id, service, country, person_centric_id FROM handle").fetchall()
    by_id = defaultdict(list)
    for handle_id, service, country, pcid in handles:
        by_id[handle_id].append((service, pcid))
        assert country == ("gb" if handle_id.startswith("+44") else "us")
    assert any({s for s, _ in v} >= {"iMessage", "SMS"} and len({p for _, p in v}) == 1 and v[0][1] for v in by_id.values())
    us_tails = {h[-10:] for h in by_id if h.startswith("+1")}
    assert any(h.startswith("+44") and h[-10:] in us_tails for h in by_id)
    assert any(h.isdigit() for h in by_id)  # an SMS short code
    assert any("@" in h for h in by_id)
    styles = Counter(db.execute("SELECT style FROM chat").fetchall())
    assert styles[(43,)] and styles[(45,)]
    for guid, style, identifier, service in db.execute("SELECT guid, style, chat_identifier, service_name FROM chat"):
        assert guid == f"{service};{'+' if style == 43 else '-'};{identifier}"
    events = Counter(db.execute("SELECT item_type, group_action_type FROM message WHERE item_type != 0").fetchall())
    assert events[(2, 0)] and events[(1, 0)]
    assert db.execute(
        "SELECT count(*) FROM message WHERE item_type = 1 AND other_handle NOT IN (SELECT ROWID FROM handle)"
    ).fetchone() == (0,)
    services = {s for (s,) in db.execute("SELECT DISTINCT service FROM message")}
    assert {"iMessage", "SMS"} <= services


def test_contacts_match_handles_and_split_across_sources(demo, db):
    out, summary = demo
    cards = read_contacts(out / "AddressBook")
    named = [c for c in cards if c.first_name or c.last_name or c.organization]
    unnamed = [c for c in cards if c not in named]
    assert len(named) == summary.contacts
    assert unnamed and all(
        any(set(u.phones) & set(n.phones) and n.source_key.split(":")[0] != u.source_key.split(":")[0] for n in named)
        for u in unnamed)
    assert len({c.source_key.split(":")[0] for c in cards}) == 3
    handle_ids = {h for (h,) in db.execute("SELECT id FROM handle")}
    known = {p for c in cards for p in c.phones} | {e for c in cards for e in c.emails}
    assert len(handle_ids & known) > len(handle_ids) // 2
    assert handle_ids - known  # some handles have no contact


def test_some_attachment_files_exist_and_most_do_not(demo, db):
    out, _ = demo
    prefix = "~/Library/Messages/"
    names = [f for (f,) in db.execute("SELECT filename FROM attachment WHERE filename IS NOT NULL")]
    assert names and all(f.startswith(prefix + "Attachments/") for f in names)
    present = [f for f in names if (out / f[len(prefix):]).is_file()]
    assert 0 < len(present) < len(names) // 2


def test_planted_topics_are_findable(demo, db):
    _, summary = demo
    expected = {t["key"] for t in planted_topics(11, **{k: SIZE[k] for k in ("messages", "chats")})}
    assert {t["key"] for t in summary.topics} == expected and expected
    for topic in summary.topics:
        rows = db.execute(
            f"SELECT m.attributedBody, c.guid FROM message m JOIN chat_message_join j ON j.message_id = m.ROWID"
            f" JOIN chat c ON c.ROWID = j.chat_id WHERE m.guid IN ({','.join('?' * len(topic['message_guids']))})",
            topic["message_guids"],
        ).fetchall()
        assert len(rows) == len(topic["message_guids"]) >= 5
        assert {chat for _, chat in rows} == {topic["chat_guid"]}
        texts = " ".join(decode_attributed_body(b).text for b, _ in rows).lower()
        assert any(k.lower() in texts for k in topic["keywords"])

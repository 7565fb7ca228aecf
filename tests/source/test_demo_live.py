from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.errors import InvalidRequest
from backend.source.attributed_body import decode_body_text
from backend.source.demo.generator import generate_demo_source
from backend.source.demo.live import ACTIONS, DemoChatNotFound, DemoMessageNotFound, LiveSourceWriter, run_live
from backend.source.summary_info import decode_summary_info
from backend.source.tapbacks import parse_tapback

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SIZE = {"messages": 300, "chats": 4, "contacts": 10}
APPLE_EPOCH_UNIX = 978_307_200
START = NOW.timestamp() + 3_600  # the writer's "now": an hour after the source was generated


class Clock:
    def __init__(self, t: float = START) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def ns(self) -> int:
        return int(round((self.t - APPLE_EPOCH_UNIX) * 1_000_000_000))


@pytest.fixture()
def chat_db(tmp_path: Path) -> Path:
    generate_demo_source(tmp_path / "Messages", seed=5, now=NOW, **SIZE)
    return tmp_path / "Messages" / "chat.db"


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def writer(chat_db: Path, clock: Clock):
    with LiveSourceWriter(chat_db, seed=3, clock=clock) as live:
        yield live


@pytest.fixture()
def reader(chat_db: Path):
    """Opened read-only before any write, as the sync opens the user's chat.db."""
    with closing(sqlite3.connect(f"file:{chat_db}?mode=ro", uri=True)) as conn:
        conn.row_factory = sqlite3.Row
        yield conn


def _row(conn: sqlite3.Connection, guid: str) -> sqlite3.Row | None:
    return conn.execute(
        "SELECT m.*, j.chat_id, j.message_date FROM message m"
        " LEFT JOIN chat_message_join j ON j.message_id = m.ROWID WHERE m.guid = ?", (guid,),
    ).fetchone()


def _max_rowid(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT max(ROWID) FROM message").fetchone()[0]


def _chat(conn: sqlite3.Connection, *, group: bool) -> tuple[str, int, set[int]]:
    guid, rowid = conn.execute("SELECT guid, ROWID FROM chat WHERE (style = 43) = ? ORDER BY ROWID LIMIT 1",
                               (group,)).fetchone()
    members = {r[0] for r in conn.execute("SELECT handle_id FROM chat_handle_join WHERE chat_id = ?", (rowid,))}
    return guid, rowid, members


def _text(row: sqlite3.Row) -> str | None:
    return decode_body_text(row["attributedBody"]) if row["attributedBody"] is not None else row["text"]


def test_write_message_appends_a_row_in_the_chat_that_readers_see(writer, reader, clock):
    before = _max_rowid(reader)
    chat_guid, chat_rowid, members = _chat(reader, group=True)

    mine = writer.write_message(chat_guid=chat_guid, text="see you at 7", from_me=True)
    clock.t += 5
    theirs = writer.write_message(chat_guid=chat_guid, text="ok 👍", from_me=False)

    first, second = _row(reader, mine), _row(reader, theirs)  # a new read transaction sees both
    assert before < first["ROWID"] < second["ROWID"] == _max_rowid(reader)
    assert (first["chat_id"], second["chat_id"]) == (chat_rowid, chat_rowid)
    assert (_text(first), _text(second)) == ("see you at 7", "ok 👍")
    assert first["is_from_me"] == 1 and first["handle_id"] == 0 and first["is_sent"] == 1
    assert second["is_from_me"] == 0 and second["handle_id"] in members and second["is_read"] == 0
    assert first["date"] == first["message_date"] == clock.ns() - 5_000_000_000
    assert second["date"] == clock.ns()
    assert second["reply_to_guid"] == mine
    assert first["cache_roomnames"] is not None and first["service"] and first["account_guid"]
    assert decode_summary_info(first["message_summary_info"]).edited_parts == {}
    assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_direct_chat_rows_carry_the_other_persons_handle_both_ways(writer, reader):
    chat_guid, _, members = _chat(reader, group=False)
    sent = _row(reader, writer.write_message(chat_guid=chat_guid, from_me=True))
    got = _row(reader, writer.write_message(chat_guid=chat_guid, from_me=False))
    assert sent["handle_id"] == got["handle_id"] and {sent["handle_id"]} == members
    assert _text(sent) and _text(got)


def test_most_rows_keep_only_attributed_body_and_a_burst_is_one_backdated_run(writer, reader, clock):
    before = _max_rowid(reader)
    at = clock.t - 3 * 86_400
    guids = writer.write_burst(200, at=at, spacing_s=2.0)

    rows = [_row(reader, g) for g in guids]
    rowids = [r["ROWID"] for r in rows]
    assert rowids == sorted(rowids) and len(set(rowids)) == 200 and rowids[0] > before
    assert [r["date"] for r in rows] == [int(round((at + 2.0 * i - APPLE_EPOCH_UNIX) * 1e9)) for i in range(200)]
    null_text = sum(r["text"] is None for r in rows)
    assert 150 <= null_text <= 195  # ~90%
    assert all(_text(r) for r in rows)
    assert all(r["text"] is None or r["text"] == decode_body_text(r["attributedBody"]) for r in rows)
    received = [r for r in rows if not r["is_from_me"]]
    assert received and all(r["is_read"] == 1 and r["date_read"] > r["date"] for r in received)  # old: read
    assert len({r["chat_id"] for r in rows}) == 4


def test_tapbacks_point_at_part_zero_of_their_target(writer, reader):
    chat_guid, chat_rowid, _ = _chat(reader, group=True)
    target = writer.write_message(chat_guid=chat_guid, text="pizza tonight?", from_me=True)

    liked = _row(reader, writer.add_tapback(target, kind=2001))
    emoji = _row(reader, writer.add_tapback(target, kind=2006, from_me=True, emoji="🔥"))
    removed = _row(reader, writer.add_tapback(target, kind=3001))

    assert liked["associated_message_guid"] == f"p:0/{target}" and liked["associated_message_type"] == 2001
    assert parse_tapback(liked["associated_message_type"], liked["associated_message_guid"]).target_guid == target
    assert _text(liked) == "Liked “pizza tonight?”" and liked["chat_id"] == chat_rowid
    assert liked["is_from_me"] == 0 and liked["handle_id"] != 0
    assert liked["associated_message_range_length"] == len("pizza tonight?")
    assert (emoji["associated_message_emoji"], emoji["is_from_me"], emoji["handle_id"]) == ("🔥", 1, 0)
    assert _text(emoji) == "Reacted 🔥 to “pizza tonight?”"
    assert removed["associated_message_type"] == 3001 and _text(removed) == "Removed a like from “pizza tonight?”"
    with pytest.raises(InvalidRequest):
        writer.add_tapback(target, kind=2010)


def test_edit_keeps_every_version_in_summary_info(writer, reader, clock):
    guid = writer.write_message(text="lets meet at 6", from_me=True)
    sent_at = clock.ns()
    clock.t += 30
    writer.edit_message(guid, "lets meet at 7")
    clock.t += 30
    writer.edit_message(guid, "lets meet at 8")

    row = _row(reader, guid)
    assert _text(row) == "lets meet at 8" and row["date_edited"] == clock.ns() and row["date_retracted"] == 0
    assert row["text"] in (None, "lets meet at 8")
    versions = decode_summary_info(row["message_summary_info"]).edited_parts[0]
    assert [v.text for v in versions] == ["lets meet at 6", "lets meet at 7", "lets meet at 8"]
    assert versions[0].edited_at_apple_seconds == pytest.approx(sent_at / 1e9)
    assert versions[-1].edited_at_apple_seconds == pytest.approx(clock.ns() / 1e9)


def test_unsend_clears_the_body_and_retracts_every_part(writer, reader, clock):
    guid = writer.write_message(text="oops wrong chat", from_me=True)
    clock.t += 20
    writer.unsend_message(guid)

    row = _row(reader, guid)
    assert row["date_retracted"] == row["date_edited"] == clock.ns()
    assert row["text"] is None and row["attributedBody"] is None
    info = decode_summary_info(row["message_summary_info"], part_count=row["part_count"])
    assert info.retracted_parts == (0,) and info.fully_unsent and not info.errors
    with pytest.raises(InvalidRequest):
        writer.edit_message(guid, "too late")


def test_mark_read_sets_is_read_and_date_read(writer, reader, clock):
    guid = writer.write_message(from_me=False)
    assert _row(reader, guid)["is_read"] == 0
    clock.t += 90
    writer.mark_read(guid)
    row = _row(reader, guid)
    assert (row["is_read"], row["date_read"]) == (1, clock.ns())


def test_delete_removes_the_row_and_records_its_guid(writer, reader):
    guid = writer.write_message(text="delete me")
    top = _max_rowid(reader)
    writer.delete_message(guid)

    assert _row(reader, guid) is None
    assert reader.execute("SELECT count(*) FROM deleted_messages WHERE guid = ?", (guid,)).fetchone()[0] == 1
    assert reader.execute("SELECT count(*) FROM chat_message_join WHERE message_id = ?", (top,)).fetchone()[0] == 0
    assert _row(reader, writer.write_message())["ROWID"] == top + 1  # ROWIDs are never reused
    with pytest.raises(DemoMessageNotFound):
        writer.delete_message(guid)


def test_replace_wal_makes_the_next_write_create_a_new_wal_file(chat_db, clock):
    wal = chat_db.with_name("chat.db-wal")
    with LiveSourceWriter(chat_db, seed=1, clock=clock) as writer:
        writer.write_message()
        old = os.stat(wal).st_ino
        writer.replace_wal()
        writer.write_message()
        assert wal.exists() and os.stat(wal).st_ino != old
        writer.checkpoint()
        assert wal.stat().st_size == 0
    with closing(sqlite3.connect(f"file:{chat_db}?mode=ro", uri=True)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_reader_open_across_checkpoints_and_wal_replacement_sees_every_commit(writer, reader):
    seen = []
    for action in (writer.checkpoint, writer.replace_wal, None):
        guid = writer.write_message()
        seen.append(_row(reader, guid) is not None)
        if action:
            action()
    assert seen == [True, True, True]


def test_steps_follow_the_mix_keep_the_db_valid_and_rowids_rising(writer, reader):
    assert sum(share for _, share in ACTIONS) == pytest.approx(1.0)
    writer.write_message(from_me=False)  # something unread to read
    done = set()
    total = 0.0
    for _action, share in ACTIONS:  # every action once, by choice
        result = writer.step(total + share / 2)
        total += share
        done.add(result["action"])
    assert done == {a for a, _ in ACTIONS}

    top = _max_rowid(reader)
    counts: dict[str, int] = {}
    for _ in range(300):
        result = writer.step()
        counts[result["action"]] = counts.get(result["action"], 0) + 1
        if result["action"] in ("message", "tapback", "tapback_removal", "burst"):
            row = _row(reader, result["guid"])
            assert row["ROWID"] > top
            top = _max_rowid(reader)
            assert row["ROWID"] == top
    assert counts["message"] > 150 and counts.get("tapback", 0) > 5 and counts.get("read", 0) > 5
    assert tuple(reader.execute("PRAGMA integrity_check").fetchone()) == ("ok",)
    assert reader.execute("PRAGMA foreign_key_check").fetchall() == []
    orphans = reader.execute("SELECT count(*) FROM message m WHERE ROWID > 300 AND NOT EXISTS"
                             " (SELECT 1 FROM chat_message_join j WHERE j.message_id = m.ROWID)").fetchone()[0]
    assert orphans == 0


def _dump(chat_db: Path) -> list[tuple]:
    with closing(sqlite3.connect(f"file:{chat_db}?mode=ro", uri=True)) as conn:
        return conn.execute("SELECT * FROM message ORDER BY ROWID").fetchall()


def test_same_seed_and_clock_write_the_same_rows(tmp_path):
    dumps = []
    for name in ("a", "b"):
        generate_demo_source(tmp_path / name, seed=5, now=NOW, **SIZE)
        with LiveSourceWriter(tmp_path / name / "chat.db", seed=9, clock=Clock()) as writer:
            for _ in range(60):
                writer.step()
        dumps.append(_dump(tmp_path / name / "chat.db"))
    assert dumps[0] == dumps[1] and len(dumps[0]) > SIZE["messages"]


def test_guids_never_repeat_the_generators_or_an_earlier_runs(chat_db, clock):
    guids = []
    for _ in range(2):  # the generator's seed, twice on the same file
        with LiveSourceWriter(chat_db, seed=5, clock=clock) as writer:
            guids += writer.write_burst(150)
    assert len(set(guids)) == 300
    with closing(sqlite3.connect(f"file:{chat_db}?mode=ro", uri=True)) as conn:
        assert conn.execute("SELECT count(*) FROM message").fetchone()[0] == SIZE["messages"] + 300


def test_refuses_what_it_must_not_write(tmp_path, writer):
    missing = tmp_path / "nowhere" / "chat.db"
    with pytest.raises(InvalidRequest):
        LiveSourceWriter(missing)
    assert not missing.exists()
    with pytest.raises(DemoMessageNotFound):
        writer.mark_read("NOT-A-GUID")
    with pytest.raises(DemoChatNotFound):
        writer.write_message(chat_guid="iMessage;-;nobody")


def test_run_live_paces_steadily_and_stops_on_request(chat_db):
    seen = []
    started = time.monotonic()
    done = run_live(chat_db, rate=50, duration_s=0.5, on_action=seen.append)
    assert 18 <= done <= 27 and len(seen) == done
    assert time.monotonic() - started < 1.5

    stop = threading.Event()
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("n", run_live(chat_db, rate=2, stop=stop)))
    thread.start()
    time.sleep(0.3)
    stop.set()
    thread.join(timeout=2)
    assert not thread.is_alive() and result["n"] == 1  # the first action at once, the next not due yet
    with pytest.raises(InvalidRequest):
        run_live(chat_db, rate=0)


def _cli(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "backend.cli.main", "demo-source", str(out), "--messages", "200", "--chats", "4",
         "--contacts", "10", "--seed", "4", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_live_writes_until_signalled(tmp_path, signum):
    out = tmp_path / "Messages"
    if signum == signal.SIGINT:  # an existing source is written to, not regenerated
        generate_demo_source(out, seed=4, now=NOW, **SIZE)
    proc = _cli(out, "--live", "40")
    try:
        summary = json.loads(proc.stdout.readline())
        assert summary["chat_db"] == str(out / "chat.db")
        db = out / "chat.db"
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            first = _max_rowid(conn)
            deadline = time.monotonic() + 10
            while _max_rowid(conn) < first + 3 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _max_rowid(conn) >= first + 3
        proc.send_signal(signum)
        started = time.monotonic()
        rc = proc.wait(timeout=5)
        assert rc == 0 and time.monotonic() - started < 2
        stdout, stderr = proc.communicate()
        assert stdout.strip() == ""  # nothing per action at INFO
        assert ("not generating" in stderr) == (signum == signal.SIGINT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

from __future__ import annotations

import json
import shutil
import sqlite3

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.config import get_settings
from backend.source.demo.generator import generate_demo_source
from backend.source.demo.live import LiveSourceWriter
from tests.mirror_fixtures import fresh_import_state, mirror_state


def _mirror():
    conn = sqlite3.connect(get_settings().central_db_path)
    conn.row_factory = sqlite3.Row
    return conn


def _outbox_names(after: int = 0) -> list[str]:
    return [r[0] for r in _mirror().execute("SELECT name FROM event_outbox WHERE id > ? ORDER BY id", (after,))]


def test_a_new_message_is_mirrored_and_announced_after_commit(live_sync, imported):
    with LiveSourceWriter(imported / "chat.db", seed=3) as writer:
        guid = writer.write_message(text="the zebra crossing at noon")
    result = live_sync.run_pass()
    assert result.new_messages == 1
    row = _mirror().execute("SELECT id, chat_id, text, conversation_id FROM messages WHERE guid = ?", (guid,)).fetchone()
    assert row["text"] == "the zebra crossing at noon" and row["conversation_id"] is not None
    created = [e for e in result.published if e.name == "message.created"]
    assert [e.payload["message_id"] for e in created] == [row["id"]]
    stored = _mirror().execute("SELECT id, payload FROM event_outbox WHERE name = 'message.created'").fetchall()
    assert [(r["id"], json.loads(r["payload"])["message_id"]) for r in stored] == [(created[0].id, row["id"])]
    assert _mirror().execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH 'zebra'").fetchone()[0] == row["id"]
    assert live_sync.run_pass().events == 0  # nothing new: nothing announced


def test_edits_unsends_reads_tapbacks_and_deletions(live_sync, imported):
    with LiveSourceWriter(imported / "chat.db", seed=4) as writer:
        guid = writer.write_message(text="quixotic words", from_me=False)
        live_sync.run_pass()
        writer.edit_message(guid, "second words")
        assert live_sync.run_pass().updated_messages == 1
        row = _mirror().execute("SELECT id, text, edited_at FROM messages WHERE guid = ?", (guid,)).fetchone()
        assert row["text"] == "second words" and row["edited_at"] is not None
        versions = [r[0] for r in _mirror().execute(
            "SELECT text FROM message_edits WHERE message_id = ? ORDER BY version", (row["id"],))]
        assert versions[0] == "quixotic words" and versions[-1] == "second words"
        assert not _mirror().execute("SELECT 1 FROM messages_fts WHERE messages_fts MATCH 'quixotic'").fetchone()

        writer.mark_read(guid)
        live_sync.run_pass()
        assert _mirror().execute("SELECT is_read FROM messages WHERE guid = ?", (guid,)).fetchone()[0] == 1

        writer.add_tapback(guid, kind=2003)
        result = live_sync.run_pass()
        assert any(e.name == "message.updated" and e.payload["message_id"] == row["id"] for e in result.published)
        writer.add_tapback(guid, kind=3003)
        live_sync.run_pass()
        state = _mirror().execute("SELECT kind, is_active FROM reactions WHERE target_guid = ?", (guid,)).fetchall()
        assert [tuple(r) for r in state] == [("laugh", 0)]

        writer.unsend_message(guid)
        live_sync.run_pass()
        unsent = _mirror().execute("SELECT text, is_unsent FROM messages WHERE guid = ?", (guid,)).fetchone()
        assert unsent["is_unsent"] == 1 and unsent["text"] is None

        other = writer.write_message(text="soon gone")
        live_sync.run_pass()
        writer.delete_message(other)
        result = live_sync.run_pass()
        assert _mirror().execute("SELECT deleted_at IS NOT NULL FROM messages WHERE guid = ?", (other,)).fetchone()[0]
        assert "message.updated" in [e.name for e in result.published]


def test_burst_of_old_rows_lands_in_the_right_conversations(live_sync, imported, tmp_path):
    with LiveSourceWriter(imported / "chat.db", seed=5) as writer:
        chat = writer.chat_guids()[0]
        writer.write_burst(300, chat_guid=chat, at=1_600_000_000.0, spacing_s=600)  # an iCloud backfill
        writer.write_burst(50)
    result = live_sync.run_pass()
    assert result.new_messages == 350
    assert mirror_state(get_settings().central_db_path) == fresh_import_state(imported, tmp_path)


def test_wal_replacement_and_checkpoints_lose_and_duplicate_nothing(live_sync, imported, tmp_path):
    with LiveSourceWriter(imported / "chat.db", seed=6) as writer:
        for round_ in range(4):
            writer.write_burst(20)
            if round_ % 2:
                writer.checkpoint()
            else:
                writer.replace_wal()
            live_sync.run_pass()
        writer.write_message(text="after the last replacement")
    live_sync.run_pass()
    guids = [r[0] for r in _mirror().execute("SELECT guid FROM messages")]
    assert len(guids) == len(set(guids))
    assert mirror_state(get_settings().central_db_path) == fresh_import_state(imported, tmp_path)


def test_a_rebuilt_source_is_reconciled_by_guid_with_a_warning(live_sync, imported, tmp_path, caplog):
    rebuilt = tmp_path / "rebuilt"
    generate_demo_source(rebuilt, messages=150, chats=3, contacts=8, seed=99)  # fewer rows: ROWIDs went back
    before = _mirror().execute("SELECT count(*) FROM messages").fetchone()[0]
    for suffix in ("", "-wal", "-shm"):
        (imported / f"chat.db{suffix}").unlink(missing_ok=True)
    shutil.copy(rebuilt / "chat.db", imported / "chat.db")
    result = live_sync.run_pass()
    assert result.reconciled
    assert "rebuilt" in caplog.text
    assert "source.reconciled" in _outbox_names()
    new_guids = {r[0] for r in sqlite3.connect(rebuilt / "chat.db").execute(
        "SELECT guid FROM message WHERE associated_message_type NOT BETWEEN 2000 AND 3007")}
    mirrored = {r[0] for r in _mirror().execute("SELECT guid FROM messages")}
    assert new_guids <= mirrored  # everything of the new source is there
    assert len(mirrored) == before + len(new_guids - mirrored) or len(mirrored) >= before
    with LiveSourceWriter(imported / "chat.db", seed=7) as writer:
        guid = writer.write_message(text="after the rebuild")
    after = live_sync.run_pass()
    assert (after.new_messages, after.updated_messages, after.reconciled) == (1, 0, False)  # settled: no churn
    assert _mirror().execute("SELECT text FROM messages WHERE guid = ?", (guid,)).fetchone()[0] == "after the rebuild"


def test_deleting_the_newest_message_is_a_deletion_not_a_rebuilt_source(live_sync, imported, caplog):
    with LiveSourceWriter(imported / "chat.db", seed=3) as writer:
        newest = writer.write_message(text="sent by mistake")
        assert live_sync.run_pass().new_messages == 1
        writer.delete_message(newest)  # max(ROWID) goes down; AUTOINCREMENT's sequence does not
        result = live_sync.run_pass()
        assert not result.reconciled and "rebuilt" not in caplog.text
        assert _mirror().execute("SELECT deleted_at IS NOT NULL FROM messages WHERE guid = ?",
                                 (newest,)).fetchone()[0] == 1
        guid = writer.write_message(text="the right one")
    after = live_sync.run_pass()
    assert (after.new_messages, after.updated_messages, after.reconciled) == (1, 0, False)
    assert _mirror().execute("SELECT text FROM messages WHERE guid = ?", (guid,)).fetchone()[0] == "the right one"


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=1, max_value=10_000), passes=st.lists(st.integers(1, 12), min_size=1, max_size=6))
def test_live_sync_in_any_rhythm_equals_a_full_import(demo_template, tmp_path_factory, seed, passes):
    """Random Messages activity (new rows, backfills, edits, unsends, tapbacks, reads), synced in random
    slices, gives the mirror (conversations included) that importing the final source gives."""
    from backend.config import Settings
    from backend.db.engine import get_engine
    from backend.live.hub import MessageHub
    from backend.mirror.importer import import_source
    from backend.sync.service import LiveSync

    tmp = tmp_path_factory.mktemp("prop")
    source = tmp / "source"
    shutil.copytree(demo_template(), source)
    settings_ = Settings(data_dir=tmp / "live")
    import_source(settings_, source=source / "chat.db", addressbook_dir=source / "AddressBook")
    sync = LiveSync(settings_, get_engine(settings_.central_db_path), source=source / "chat.db",
                    addressbook_dir=source / "AddressBook", hub=MessageHub())
    with LiveSourceWriter(source / "chat.db", seed=seed) as writer:
        for steps in passes:
            for _ in range(steps):
                writer.step()
            sync.run_pass()
    assert mirror_state(settings_.central_db_path) == fresh_import_state(source, tmp)

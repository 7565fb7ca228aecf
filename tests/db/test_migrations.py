from __future__ import annotations

import sqlite3

import pytest

from backend.db import migrate
from backend.db.engine import create_db_engine
from backend.errors import MigrationFailed

EXPECTED_COLUMNS = {
    "contacts": {"id", "contact_key", "display_name", "first_name", "last_name", "merged_into_id"},
    "contact_identifiers": {"contact_id", "kind", "value"},
    "handles": {"identifier", "service", "canonical", "person_centric_id", "contact_id"},
    "chats": {"id", "chat_key", "is_group", "display_name", "last_message_at", "unread_count"},
    "chat_sources": {"source_guid", "chat_id", "source_rowid"},
    "chat_participants": {"chat_id", "contact_id", "is_active"},
    "messages": {"id", "guid", "source_rowid", "chat_id", "conversation_id", "sender_contact_id",
                 "is_from_me", "sent_at", "text", "edited_at", "retracted_at", "reply_to_guid", "decode_error"},
    "message_edits": {"message_id", "part", "version", "text", "edited_at"},
    "reactions": {"target_guid", "target_part", "message_id", "sender_key", "kind", "emoji", "is_active"},
    "attachments": {"guid", "message_id", "path", "mime_type", "file_present"},
    "conversations": {"id", "chat_id", "started_at", "last_message_at", "state", "sealed_at"},
    "sync_state": {"key", "value", "updated_at"},
    "event_outbox": {"id", "name", "payload", "created_at", "relayed_at"},
    "app_settings": {"key", "value", "updated_at"},
}


def _columns(path, table: str) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def test_blank_file_migrates_to_head_with_every_table_and_column(tmp_path):
    path = tmp_path / "blank.db"
    engine = create_db_engine(path)
    assert migrate.upgrade(engine) == migrate.head_revision()
    for table, columns in EXPECTED_COLUMNS.items():
        assert columns <= _columns(path, table), table
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        fts = conn.execute("SELECT sql FROM sqlite_master WHERE name='messages_fts'").fetchone()[0]
    assert {"ix_messages_chat_sent", "ix_messages_conversation", "ix_conversations_state_last"} <= names
    assert "fts5" in fts


def test_upgrade_downgrade_upgrade(tmp_path):
    path = tmp_path / "cycle.db"
    engine = create_db_engine(path)
    migrate.upgrade(engine)
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert _columns(path, "messages") == set()
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert "guid" in _columns(path, "messages")


def test_failed_migration_raises_a_clear_error_and_keeps_the_file(tmp_path):
    path = tmp_path / "conflict.db"
    with sqlite3.connect(path) as conn:  # a table in the way makes revision 0001 fail
        conn.execute("CREATE TABLE contacts (x)")
    engine = create_db_engine(path)
    with pytest.raises(MigrationFailed) as info:
        migrate.upgrade(engine)
    assert "failed" in info.value.message and "contacts" in info.value.message
    assert migrate.current_revision(engine) is None
    assert _columns(path, "contacts") == {"x"}


def test_the_head_read_from_the_file_headers_is_alembics_head():
    from alembic.script import ScriptDirectory

    assert migrate.head_from_files() == ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()


def test_headers_that_are_not_one_chain_leave_the_answer_to_alembic(tmp_path):
    (tmp_path / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (tmp_path / "b.py").write_text('revision = "b"\ndown_revision = "a"\n')
    assert migrate.head_from_files(tmp_path) == "b"
    (tmp_path / "c.py").write_text('revision = "c"\ndown_revision = "a"\n')  # two heads
    assert migrate.head_from_files(tmp_path) is None
    (tmp_path / "c.py").write_text('"""no header"""\n')
    assert migrate.head_from_files(tmp_path) is None


def test_a_database_at_head_is_checked_without_running_alembic(tmp_path, monkeypatch):
    engine = create_db_engine(tmp_path / "at-head.db")
    migrate.upgrade(engine)

    def refuse(*_args, **_kwargs):
        raise AssertionError("Alembic ran for a database already at head")

    monkeypatch.setattr(migrate, "_run", refuse)
    assert migrate.upgrade(engine) == migrate.head_revision()
    monkeypatch.undo()
    migrate.downgrade(engine, "-1")
    assert migrate.current_revision(engine) != migrate.head_revision()
    assert migrate.upgrade(engine) == migrate.head_revision()  # behind head: Alembic runs again

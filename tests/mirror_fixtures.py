"""Shared fixtures: a demo source, imported into the test's data dir, and a LiveSync over it."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from backend.config import Settings, get_settings
from backend.db.engine import create_db_engine, get_engine
from backend.live.hub import MessageHub
from backend.mirror.importer import import_source
from backend.source.demo.generator import generate_demo_source
from backend.sync.service import LiveSync

_SOURCES: dict[tuple, Path] = {}


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    def make(messages: int = 600, chats: int = 6, contacts: int = 16, seed: int = 21) -> Path:
        key = (messages, chats, contacts, seed)
        if key not in _SOURCES:
            out = tmp_path_factory.mktemp(f"sync-src-{seed}")
            generate_demo_source(out, messages=messages, chats=chats, contacts=contacts, seed=seed)
            _SOURCES[key] = out
        return _SOURCES[key]

    return make


@pytest.fixture
def source(demo_template, tmp_path) -> Path:
    target = tmp_path / "source"
    shutil.copytree(demo_template(), target)
    return target


@pytest.fixture
def imported(source) -> Path:
    import_source(get_settings(), source=source / "chat.db", addressbook_dir=source / "AddressBook")
    return source


@pytest.fixture
def live_sync(imported) -> LiveSync:
    settings = get_settings()
    return LiveSync(settings, get_engine(settings.central_db_path), source=imported / "chat.db",
                    addressbook_dir=imported / "AddressBook", hub=MessageHub())


def mirror_state(db: Path) -> dict:
    """What a user sees, keyed by Apple guids (ids differ between a live mirror and a fresh import)."""
    conn = sqlite3.connect(db)
    try:
        messages = {
            guid: row for guid, *row in conn.execute("""
                SELECT m.guid, m.text, c.chat_key, m.is_from_me, m.sent_at, m.is_unsent, m.edited_at, m.read_at,
                       m.is_read, m.decode_error IS NOT NULL
                FROM messages m JOIN chats c ON c.id = m.chat_id WHERE m.deleted_at IS NULL
            """)
        }
        conversations = sorted(
            tuple(sorted(guids.split("\x1f"))) for (guids,) in conn.execute("""
                SELECT group_concat(m.guid, char(31)) FROM messages m WHERE m.deleted_at IS NULL
                GROUP BY m.conversation_id
            """)
        )
        reactions = set(conn.execute(
            "SELECT sender_key, target_guid, target_part, kind, emoji, is_active FROM reactions"))
        edits = set(conn.execute(
            "SELECT m.guid, e.part, e.version, e.text FROM message_edits e JOIN messages m ON m.id = e.message_id"))
        stats = {key: rest for key, *rest in conn.execute(
            "SELECT chat_key, message_count, unread_count, last_message_at FROM chats WHERE message_count > 0")}
    finally:
        conn.close()
    return {"messages": messages, "conversations": conversations, "reactions": reactions, "edits": edits,
            "chats": stats}


def fresh_import_state(source: Path, tmp_path: Path) -> dict:
    """The mirror a full import of `source` (as it is now) gives, in a separate data dir."""
    data = tmp_path / f"fresh-{len(list(tmp_path.glob('fresh-*')))}"
    settings = Settings(data_dir=data)
    create_db_engine(settings.central_db_path).dispose()
    import_source(settings, source=source / "chat.db", addressbook_dir=source / "AddressBook")
    return mirror_state(settings.central_db_path)

"""The search corpus: a demo source with planted topics, imported and embedded once per session."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from backend.config import get_settings
from backend.db.engine import dispose_engines, get_engine
from backend.mirror.importer import import_source
from backend.search import service
from backend.source.demo.generator import MANIFEST_NAME

_BUILT: dict[str, object] = {}


@pytest.fixture
def corpus(demo_template, isolated_data_dir):
    """A demo source with four planted topics, imported and embedded (once; copied into each test's data dir)."""
    source = demo_template(messages=2000, chats=12, contacts=30, seed=5)
    settings = get_settings()
    if "dir" in _BUILT:
        dispose_engines()
        shutil.copytree(_BUILT["dir"], settings.data_dir, dirs_exist_ok=True)
        engine = get_engine(settings.central_db_path)
        stats = _BUILT["stats"]
    else:
        import_source(settings, source=source / "chat.db", addressbook_dir=source / "AddressBook")
        engine = get_engine(settings.central_db_path)
        stats = service.embed_conversations(engine)
        dispose_engines()
        with sqlite3.connect(settings.central_db_path) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        keep = source.parent / "search-corpus"
        shutil.copytree(settings.data_dir, keep, ignore=shutil.ignore_patterns("*-wal", "*-shm", "*.sock", "*.pid"))
        _BUILT.update(dir=keep, stats=stats)
        engine = get_engine(settings.central_db_path)
    topics = json.loads((source / MANIFEST_NAME).read_text())["topics"]
    db = sqlite3.connect(settings.central_db_path)
    for topic in topics:
        marks = ",".join("?" * len(topic["message_guids"]))
        topic["message_ids"] = {r[0] for r in db.execute(f"SELECT id FROM messages WHERE guid IN ({marks})",
                                                         topic["message_guids"])}
        topic["conversation_ids"] = {r[0] for r in db.execute(
            f"SELECT DISTINCT conversation_id FROM messages WHERE guid IN ({marks})", topic["message_guids"])}
        topic["chat_id"] = db.execute(f"SELECT chat_id FROM messages WHERE guid IN ({marks})",
                                      topic["message_guids"]).fetchone()[0]
    db.close()
    return engine, topics, stats



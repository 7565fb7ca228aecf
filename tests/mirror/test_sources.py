from __future__ import annotations

from backend.config import get_settings
from backend.mirror.sources import default_source, demo_dir, existing_source


def test_no_messages_database_means_a_demo_source_made_once(isolated_data_dir):
    settings = get_settings()
    assert existing_source(settings) is None
    chat_db, addressbook = default_source(settings, demo_messages=200)
    assert chat_db == demo_dir() / "chat.db" and chat_db.exists() and addressbook.is_dir()
    made = chat_db.stat().st_mtime_ns
    assert default_source(settings, demo_messages=200) == (chat_db, addressbook)
    assert chat_db.stat().st_mtime_ns == made  # not generated again
    assert existing_source(settings) == (chat_db, addressbook)


def test_a_real_messages_database_wins(tmp_path, monkeypatch):
    from backend.config import reset_settings_cache

    real = tmp_path / "Messages" / "chat.db"
    real.parent.mkdir()
    real.write_bytes(b"")
    monkeypatch.setenv("CHATSTATS_SOURCE_CHAT_DB", str(real))
    monkeypatch.setenv("CHATSTATS_ADDRESSBOOK_DIR", str(tmp_path / "no-addressbook"))
    reset_settings_cache()
    assert default_source(get_settings()) == (real, None)

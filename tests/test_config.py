from __future__ import annotations

import sys

from backend.config import Settings, data_dir, default_data_dir, get_settings, reset_settings_cache


def test_env_over_dotenv_over_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("CHATSTATS_CONVERSATION_GAP_MINUTES=45\nCHATSTATS_LLM_MODEL=from-dotenv\n")
    monkeypatch.delenv("CHATSTATS_LLM_MODEL", raising=False)
    monkeypatch.setenv("CHATSTATS_CONVERSATION_GAP_MINUTES", "30")
    settings = Settings()
    assert settings.conversation_gap_minutes == 30  # environment wins
    assert settings.llm_model == "from-dotenv"  # .env beats the default
    assert settings.api_host == "127.0.0.1"  # default
    assert settings.conversation_gap_ms == 30 * 60_000


def test_defaults(monkeypatch, tmp_path):
    monkeypatch.delenv("CHATSTATS_DATA_DIR")
    monkeypatch.delenv("CHATSTATS_SOURCE_CHAT_DB")
    settings = Settings()
    assert settings.conversation_gap_minutes == 90
    assert settings.redis_url == ""
    assert settings.source_chat_db.parts[-3:] == ("Library", "Messages", "chat.db")
    if sys.platform == "darwin":
        assert default_data_dir().parts[-3:] == ("Library", "Application Support", "ChatStats")
    else:
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
        assert default_data_dir() == tmp_path / "xdg" / "chatstats"


def test_data_dir_reads_the_variable_and_creates_the_folder(tmp_path, monkeypatch):
    target = tmp_path / "elsewhere" / "data"
    monkeypatch.setenv("CHATSTATS_DATA_DIR", str(target))
    reset_settings_cache()
    assert data_dir() == target and target.is_dir()
    assert get_settings().central_db_path == target / "central.db"

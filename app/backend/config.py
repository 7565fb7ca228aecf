"""Settings: one pydantic-settings class, read from CHATSTATS_* variables and an optional .env file."""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

OFFLINE_LLM_MODEL = "chatstats/offline"
LOCAL_EMBEDDING_MODEL = "chatstats-embed/all-minilm-l6-v2-int8"  # its own provider: "chatstats" is the analyzer


def default_data_dir() -> Path:
    """Where central.db lives when CHATSTATS_DATA_DIR is not set."""
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "ChatStats"
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else home / ".local" / "share"
    return base / "chatstats"


class Settings(BaseSettings):
    """Everything configurable. Precedence: environment, then .env, then these defaults."""

    model_config = SettingsConfigDict(
        env_prefix="CHATSTATS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    source_chat_db: Path = Field(default_factory=lambda: Path.home() / "Library" / "Messages" / "chat.db")
    addressbook_dir: Path = Field(
        default_factory=lambda: Path.home() / "Library" / "Application Support" / "AddressBook"
    )
    default_region: str | None = None  # ISO region for numbers without a country code; None: the system's
    redis_url: str = ""  # empty: start a private redis-server on a unix socket in the data dir
    llm_model: str = OFFLINE_LLM_MODEL
    llm_api_base: str = ""  # empty: LiteLLM's own variables apply (OPENAI_API_KEY, OLLAMA_API_BASE, ...)
    llm_api_key: SecretStr = SecretStr("")
    llm_timeout_s: float = Field(default=60.0, gt=0)  # one model call, before it counts as a transient failure
    llm_max_concurrency: int = Field(default=8, ge=1)  # per provider, shared by every process through Redis
    llm_requests_per_minute: int = Field(default=600, ge=0)  # 0: no rate limit
    llm_provider_limits: dict[str, dict[str, int]] = Field(default_factory=dict)  # {"openai": {"max_concurrency": 4}}
    eve_max_steps: int = Field(default=6, ge=1, le=20)  # model turns of one answer (each may call tools)
    eve_max_tokens: int = Field(default=1024, ge=64)  # output tokens of one model turn
    tools_privacy: Literal["full", "redacted", "aggregate"] = "full"  # what Eve's and MCP's tool results show
    # when a worker imports the LLM gateway (LiteLLM, ~5 s of CPU): "background" once it answers pings (on a
    # thread, beside its first tasks), "before_ready" before it answers, "off" in the first task that needs it
    gateway_warmup: Literal["background", "before_ready", "off"] = "background"
    embedding_model: str = LOCAL_EMBEDDING_MODEL
    embedding_api_base: str = ""
    embedding_api_key: SecretStr = SecretStr("")
    conversation_gap_minutes: int = Field(default=90, ge=1)
    # an analysis run that would queue more jobs than this needs `"confirm": true` (409 without it)
    analysis_confirm_jobs_over: int = Field(default=2_000, ge=0)
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=0, ge=0, le=65535)  # 0 = pick a free port
    cors_origins: list[str] = Field(default_factory=list)
    api_token: str = ""  # empty: a fresh random token per launch
    # `up`: how long children may take to become healthy; 0: no limit (a child that exits still fails the start)
    start_timeout_s: float = Field(default=60.0, ge=0)
    renderer_dir: Path | None = None  # the inbox UI served at /app (None: app/electron/renderer)
    log_level: str = "INFO"
    live_sync: bool = True  # the API process watches the source and mirrors changes as they happen
    sync_safety_interval_s: float = Field(default=2.0, gt=0)  # safety check when file events are missed
    sync_use_events: bool = True  # file-system events (off: the safety check alone)

    @property
    def central_db_path(self) -> Path:
        return self.data_dir / "central.db"

    @property
    def conversation_gap_ms(self) -> int:
        return self.conversation_gap_minutes * 60_000


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """Forget the cached settings (tests and the CLI call this after changing the environment)."""
    get_settings.cache_clear()


def data_dir() -> Path:
    """The one place that decides where ChatStats keeps its files; creates it when missing."""
    path = get_settings().data_dir.expanduser()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)  # the user's messages: theirs alone
    return path

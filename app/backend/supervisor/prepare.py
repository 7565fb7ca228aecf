"""Before any child starts: migrate central.db, pick the source, import it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from backend.config import Settings
from backend.mirror.importer import ImportSummary, import_source, is_mirrored
from backend.mirror.sources import demo_dir
from backend.source.chatdb.reader import ChatDbReader
from backend.source.errors import SourceDatabaseMissing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    source: Path
    addressbook: Path | None
    demo: bool  # a generated source in the data dir: the supervisor keeps writing to it live
    summary: ImportSummary | None  # None: mirrored before; the API's live sync catches up at start


def ensure_demo_source(*, messages: int) -> Path:
    """The demo chat.db in the data dir, generated on first use (later runs reuse it, whatever its size)."""
    folder = demo_dir()
    if not (folder / "chat.db").exists():
        from backend.source.demo.generator import generate_demo_source  # noqa: PLC0415 - only for a missing demo

        log.info("generating a demo source (%d messages) in %s", messages, folder)
        generate_demo_source(folder, messages=messages)
    return folder / "chat.db"


def addressbook_for(source: Path, settings: Settings) -> Path | None:
    """An AddressBook folder beside the source (demo sources have one), else the configured one."""
    beside = source.expanduser().parent / "AddressBook"
    if beside.is_dir():
        return beside
    configured = settings.addressbook_dir.expanduser()
    return configured if configured.is_dir() else None


def prepare(settings: Settings, *, source: Path | None = None, addressbook: Path | None = None,
            demo: bool = False, demo_if_missing: bool = False, demo_messages: int = 20_000) -> Prepared:
    """Migrate, then import `source` (default: the configured chat.db; the demo source with `demo`, or
    with `demo_if_missing` when that chat.db does not exist). An unreadable chat.db (no Full Disk
    Access) is an error even with `demo_if_missing`: demo data must never pass for the user's own."""
    from backend.db import migrate  # noqa: PLC0415 - the supervisor starts light
    from backend.db.engine import dispose_engines, get_engine  # noqa: PLC0415 - the supervisor starts light

    migrate.upgrade(get_engine(settings.central_db_path))
    chosen = ensure_demo_source(messages=demo_messages) if demo else (source or settings.source_chat_db).expanduser()
    try:
        summary = _import(settings, chosen, addressbook)
    except SourceDatabaseMissing as exc:
        if demo or source is not None or not demo_if_missing:
            raise SourceDatabaseMissing(f"{exc.message} Or run `chatstats up --demo` for demo data.",
                                        **exc.details) from exc
        log.info("no Messages database at %s: using demo data", chosen)
        chosen = ensure_demo_source(messages=demo_messages)
        summary = _import(settings, chosen, addressbook)
    finally:
        dispose_engines()  # the children own central.db from here on
    return Prepared(source=chosen, addressbook=addressbook or addressbook_for(chosen, settings),
                    demo=chosen.parent == demo_dir(), summary=summary)


def _import(settings: Settings, source: Path, addressbook: Path | None) -> ImportSummary | None:
    """A full import the first time a source is seen; afterwards live sync's first pass catches up
    (it reads only what changed, where an in-place import would re-read the whole source)."""
    if is_mirrored(settings, source):
        ChatDbReader.open(source).close()  # still fail early and clearly when it became unreadable
        log.info("%s is mirrored already: live sync will catch up", source)
        return None
    return import_source(settings, source=source, addressbook_dir=addressbook or addressbook_for(source, settings))

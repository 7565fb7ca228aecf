"""Before any child starts: migrate central.db, pick the source (source/locate.py decides), import it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from backend.config import Settings
from backend.mirror.importer import ImportSummary, import_source, is_mirrored
from backend.source.chatdb.reader import ChatDbReader
from backend.source.errors import SourceDatabaseMissing
from backend.source.locate import SourceChoice, choose_source, ensure_demo_source

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    source: Path  # the database read (a backup's sms.db, the demo chat.db, ...)
    configured: Path  # what the children are told to mirror (CHATSTATS_SOURCE_CHAT_DB): choose_source
    # gives them the same choice from it (a backup folder stays a backup folder)
    addressbook: Path | None
    demo: bool  # a generated source in the data dir: the supervisor keeps writing to it live
    summary: ImportSummary | None  # None: mirrored before; the API's live sync catches up at start


def prepare(settings: Settings, *, source: Path | None = None, addressbook: Path | None = None,
            demo: bool = False, demo_if_missing: bool = False, demo_messages: int = 20_000) -> Prepared:
    """Migrate, then import the source `choose_source` picks: `source`, else the configured chat.db; the
    demo source with `demo`, or with `demo_if_missing` when the configured chat.db does not exist."""
    from backend.db import migrate  # noqa: PLC0415 - the supervisor starts light
    from backend.db.engine import dispose_engines, get_engine  # noqa: PLC0415 - the supervisor starts light

    migrate.upgrade(get_engine(settings.central_db_path))
    try:
        chosen = choose_source(settings, source=source, addressbook=addressbook, demo=demo,
                               if_missing="demo" if demo_if_missing else "error")
    except SourceDatabaseMissing as exc:
        raise SourceDatabaseMissing(f"{exc.message} Or run `chatstats up --demo` for demo data.",
                                    **exc.details) from exc
    log.info("source: %s (%s)", chosen.chat_db, chosen.reason)
    ensure_demo_source(chosen, messages=demo_messages)
    try:
        summary = _import(settings, chosen)
    finally:
        dispose_engines()  # the children own central.db from here on
    return Prepared(source=chosen.chat_db, configured=chosen.origin, addressbook=chosen.addressbook_dir,
                    demo=chosen.demo, summary=summary)


def _import(settings: Settings, chosen: SourceChoice) -> ImportSummary | None:
    """A full import the first time a source is seen; afterwards live sync's first pass catches up
    (it reads only what changed, where an in-place import would re-read the whole source)."""
    if is_mirrored(settings, chosen.chat_db):
        ChatDbReader.open(chosen.chat_db).close()  # still fail early and clearly when it became unreadable
        log.info("%s is mirrored already: live sync will catch up", chosen.chat_db)
        return None
    return import_source(settings, source=chosen.chat_db, addressbook_dir=chosen.addressbook_dir,
                         iphone_addressbook=chosen.iphone_addressbook)

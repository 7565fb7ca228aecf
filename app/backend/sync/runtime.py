"""Starting and stopping live sync inside the API process."""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from backend.config import Settings
from backend.errors import BackendError
from backend.live.hub import MessageHub
from backend.source.locate import choose_source
from backend.sync.service import LiveSync
from backend.sync.watcher import SourceWatcher

log = logging.getLogger(__name__)


def start_live_sync(settings: Settings, engine: Engine, hub: MessageHub) -> SourceWatcher | None:
    """Watch the configured (or demo) source; None when live sync is off or there is no source."""
    if not settings.live_sync:
        return None
    try:
        chosen = choose_source(settings, if_missing="demo")
    except BackendError as exc:  # unreadable, damaged: the API still serves what was mirrored
        log.warning("live sync off: %s", exc.message)
        return None
    if not chosen.chat_db.exists():  # the demo source, never generated
        log.warning("live sync off: no Messages database at %s and no demo source; run `chatstats import` "
                    "or `make run`", settings.source_chat_db)
        return None
    sync = LiveSync(settings, engine, source=chosen.chat_db, addressbook_dir=chosen.addressbook_dir,
                    iphone_addressbook=chosen.iphone_addressbook, hub=hub)
    watcher = SourceWatcher(sync, safety_interval_s=settings.sync_safety_interval_s,
                            use_events=settings.sync_use_events)
    watcher.start()
    log.info("live sync watching %s (%s)", chosen.chat_db, chosen.reason)
    return watcher

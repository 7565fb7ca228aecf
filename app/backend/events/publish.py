"""Relay right after a commit, in whatever process wrote the events (the sweeper catches the rest)."""

from __future__ import annotations

import logging

from backend.config import get_settings
from backend.db.engine import get_engine
from backend.events.bus import redis_client, relay_pending

log = logging.getLogger(__name__)


def relay_now() -> int:
    """Best effort: without Redis, or when it fails, the beat sweeper relays later."""
    url = get_settings().redis_url
    if not url:
        return 0
    try:
        return relay_pending(get_engine(), redis_client(url))
    except Exception as exc:  # noqa: BLE001 - never fail the write that already committed
        log.warning("relay after commit failed (the sweeper will retry): %s", exc)
        return 0

"""Reads the state of central.db and its migrations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from backend import __version__
from backend.db import migrate
from backend.health.processes import redis_and_workers, watcher_status
from backend.health.schemas import DatabaseHealth, Health


def database_health(engine: Engine) -> DatabaseHealth:
    head = migrate.head_revision()
    try:
        revision = migrate.current_revision(engine)
    except SQLAlchemyError as exc:
        return DatabaseHealth(ok=False, path=str(engine.url.database), revision=None, head=head, error=str(exc))
    return DatabaseHealth(ok=revision == head, path=str(engine.url.database), revision=revision, head=head)


def get_health(engine: Engine, *, redis_url: str = "", watcher: Any = None, live_sync: bool = False) -> Health:
    database = database_health(engine)
    processes: dict[str, Any] = {}
    if redis_url:
        processes.update(redis_and_workers(redis_url))
    if live_sync:
        processes["watcher"] = watcher_status(watcher)
    healthy = database.ok and all(part.get("ok", True) for part in processes.values() if isinstance(part, dict)
                                  and "ok" in part)
    workers = processes.get("workers", {})
    healthy = healthy and all(workers.get(k, {}).get("ok", True) for k in ("io", "db"))
    return Health(status="ok" if healthy else "degraded", version=__version__, database=database,
                  processes=processes)

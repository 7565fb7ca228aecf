"""Reads the state of central.db and its migrations."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from backend import __version__
from backend.db import migrate
from backend.health.schemas import DatabaseHealth, Health


def database_health(engine: Engine) -> DatabaseHealth:
    head = migrate.head_revision()
    try:
        revision = migrate.current_revision(engine)
    except SQLAlchemyError as exc:
        return DatabaseHealth(ok=False, path=str(engine.url.database), revision=None, head=head, error=str(exc))
    return DatabaseHealth(ok=revision == head, path=str(engine.url.database), revision=revision, head=head)


def get_health(engine: Engine) -> Health:
    database = database_health(engine)
    return Health(status="ok" if database.ok else "degraded", version=__version__, database=database)

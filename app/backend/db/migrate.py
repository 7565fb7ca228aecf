"""Run Alembic migrations of central.db from code (start-up, CLI, tests)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from backend.db.engine import get_engine
from backend.errors import MigrationFailed

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migration revisions found"
    return head


def current_revision(engine: Engine | None = None) -> str | None:
    with (engine or get_engine()).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _run(engine: Engine, action: str, target: str) -> None:
    config = alembic_config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        getattr(command, action)(config, target)
        if conn.in_transaction():
            conn.commit()


def upgrade(engine: Engine | None = None, target: str = "head") -> str:
    """Migrate to `target`; raise MigrationFailed (with the cause) when anything goes wrong."""
    engine = engine or get_engine()
    try:
        _run(engine, "upgrade", target)
    except Exception as exc:
        raise MigrationFailed(
            f"Migrating {engine.url.database} to {target} failed: {exc}. "
            "The database was left at its previous revision; fix the cause, or move the file "
            "aside to start a fresh mirror.",
        ) from exc
    revision = current_revision(engine)
    log.info("central.db at revision %s", revision)
    return revision or ""


def downgrade(engine: Engine | None = None, target: str = "base") -> None:
    _run(engine or get_engine(), "downgrade", target)

"""Run Alembic migrations of central.db from code (start-up, CLI, tests).

Every process checks central.db at start; when it is at head already (the usual case) the check reads
the migration files' headers and the alembic_version row, without importing Alembic (a quarter of a
second of CPU in each of the supervisor and the API).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from backend.db.engine import get_engine
from backend.errors import MigrationFailed

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r"""^revision(?:\s*:\s*str)?\s*=\s*["']([^"']+)["']""", re.MULTILINE)
_DOWN_REVISION = re.compile(r"""^down_revision[^=\n]*=\s*["']([^"']+)["']""", re.MULTILINE)


def alembic_config() -> Config:
    from alembic.config import Config  # noqa: PLC0415 - Alembic only when a migration runs

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_from_files(versions: Path = MIGRATIONS_DIR / "versions") -> str | None:
    """The one revision no other file names as its down_revision, read from the files' headers; None when
    that is not a single plain chain (a merge revision, a header this reading does not understand)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision = _REVISION.search(source)
        if revision is None:
            return None
        revisions.add(revision.group(1))
        parent = _DOWN_REVISION.search(source)
        if parent is not None:
            parents.add(parent.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision (the files do not change while the process runs)."""
    head = head_from_files()
    if head is None:
        from alembic.script import ScriptDirectory  # noqa: PLC0415 - Alembic only when the headers do not say

        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migration revisions found"
    return head


def current_revision(engine: Engine | None = None) -> str | None:
    """The revision central.db is at; None before the first migration."""
    with (engine or get_engine()).connect() as conn:
        try:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        except OperationalError:  # no alembic_version table: a new database
            return None
    return ",".join(sorted(rows)) or None  # several rows (branches) never equal the one head: Alembic decides


def _run(engine: Engine, action: str, target: str) -> None:
    from alembic import command  # noqa: PLC0415 - Alembic only when a migration runs

    config = alembic_config()
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        getattr(command, action)(config, target)
        if conn.in_transaction():
            conn.commit()


def upgrade(engine: Engine | None = None, target: str = "head") -> str:
    """Migrate to `target`; raise MigrationFailed (with the cause) when anything goes wrong."""
    engine = engine or get_engine()
    if target == "head":
        try:
            at_head = current_revision(engine) == head_revision()
        except SQLAlchemyError:
            at_head = False  # unreadable here: Alembic below says why
        if at_head:
            log.info("central.db at revision %s", head_revision())
            return head_revision()
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

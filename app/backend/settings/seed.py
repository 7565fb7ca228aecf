"""Load seed_data/ into central.db idempotently: defaults are added, existing values kept."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from sqlalchemy import Connection, Engine

from backend.db.session import run_write
from backend.settings import repo

log = logging.getLogger(__name__)


def seed_data_dir() -> Path:
    """seed_data/ at the repository root (the package is installed in editable/source layout)."""
    return Path(__file__).resolve().parents[3] / "seed_data"


def seed_app_settings(engine: Engine | None = None, *, directory: Path | None = None) -> int:
    path = (directory or seed_data_dir()) / "app_settings.json"
    defaults = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(defaults, dict):
        raise ValueError(f"{path} must hold a JSON object of setting -> default value")

    def _seed(conn: Connection) -> int:
        return sum(repo.ensure_default(conn, key=key, value=value) for key, value in defaults.items())

    added = run_write(_seed, engine=engine)
    log.info("seeded %d default settings", added)
    return added

"""The start-up sequence of DESIGN.md: migrate (or refuse to start), seed, then the domains' hooks."""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from backend.db import migrate
from backend.settings.seed import seed_app_settings

log = logging.getLogger(__name__)


def prepare_database(engine: Engine) -> str:
    """Migrate central.db to head and seed defaults. Raises MigrationFailed: start-up must stop."""
    revision = migrate.upgrade(engine)
    seed_app_settings(engine)
    return revision

"""Reading and changing the user's app settings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from backend.db.session import run_write, session_scope
from backend.settings import repo
from backend.settings.exceptions import SettingNotFound


def list_settings(engine: Engine) -> dict[str, Any]:
    with session_scope(engine) as conn:
        return repo.list_settings(conn)


def get_setting(engine: Engine, key: str) -> Any:
    with session_scope(engine) as conn:
        settings = repo.list_settings(conn)
    if key not in settings:
        raise SettingNotFound(f"No setting named {key!r}; GET /api/settings lists them.", key=key)
    return settings[key]


def update_setting(engine: Engine, key: str, value: Any) -> Any:
    get_setting(engine, key)  # only known settings can be changed
    run_write(lambda conn: repo.update(conn, key=key, value=value), engine=engine)
    return value

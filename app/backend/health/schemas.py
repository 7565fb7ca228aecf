from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class DatabaseHealth(BaseModel):
    ok: bool
    path: str
    revision: str | None
    head: str
    error: str | None = None


class Health(BaseModel):
    status: str
    version: str
    database: DatabaseHealth
    processes: dict[str, Any] = {}

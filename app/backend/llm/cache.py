"""The response cache of `complete_json`: validated replies keyed by a hash of the request.

The key covers everything that decides the reply (model, messages, schema, temperature), serialised
canonically, so the same prompt rendered from the same data hits and any change misses. Each read and
write is its own short transaction, never one of the caller's.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from sqlalchemy import Engine

from backend.db.clock import now_ms
from backend.db.engine import get_engine
from backend.db.session import run_write, session_scope
from backend.llm import repo

log = logging.getLogger(__name__)


def request_hash(*, model: str, messages: list[dict[str, Any]], schema: dict[str, Any], temperature: float) -> str:
    """sha256 (hex) of the canonical JSON of the request."""
    payload = {"model": model, "messages": messages, "schema": schema, "temperature": float(temperature)}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def get(key: str, *, engine: Engine | None = None) -> dict[str, Any] | None:
    """The cached entry ({"data", "completion_id", ...}) or None."""
    with session_scope(engine or get_engine()) as conn:
        return repo.get_cached(conn, request_hash=key)


def put(key: str, *, model: str, entry: dict[str, Any], engine: Engine | None = None) -> None:
    run_write(lambda conn: repo.put_cached(conn, request_hash=key, model=model, response=entry, at=now_ms()),
              engine=engine or get_engine())

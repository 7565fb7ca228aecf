"""SQL of the LLM gateway: the `llm_calls` audit log and the `llm_cache` response cache."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection

from backend.db.session import execute, fetch_all, fetch_one, inserted_rowid, sqlite_of


@dataclass(frozen=True)
class CallRecord:
    """One provider request (or cache hit) as the gateway logs it."""

    created_at: int
    model: str
    provider: str
    prompt_id: str | None
    prompt_version: str | None
    purpose: str
    status: str  # 'ok' | 'error' | 'cached'
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0
    error: str | None = None
    completion_id: str | None = None
    request_hash: str | None = None


def create_call(conn: Connection, *, record: CallRecord) -> int:
    # One row per gateway request, so on the driver connection of the caller's transaction: it is the same
    # statement without SQLAlchemy's per-execution overhead.
    cursor = sqlite_of(conn).execute(
        """
        INSERT INTO llm_calls (created_at, model, provider, prompt_id, prompt_version, purpose, tokens_in,
                               tokens_out, cost_usd, latency_ms, status, error, completion_id, request_hash)
        VALUES (:created_at, :model, :provider, :prompt_id, :prompt_version, :purpose, :tokens_in,
                :tokens_out, :cost_usd, :latency_ms, :status, :error, :completion_id, :request_hash)
        """,
        asdict(record),
    )
    return inserted_rowid(cursor)


def list_calls(
    conn: Connection, *, prompt_id: str | None = None, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Newest first."""
    return fetch_all(
        conn,
        """
        SELECT * FROM llm_calls
        WHERE (:prompt_id IS NULL OR prompt_id = :prompt_id) AND (:status IS NULL OR status = :status)
        ORDER BY id DESC
        LIMIT :limit
        """,
        {"prompt_id": prompt_id, "status": status, "limit": limit},
    )


def get_cached(conn: Connection, *, request_hash: str) -> dict[str, Any] | None:
    """The cached reply (decoded JSON) for this request hash, or None."""
    row = fetch_one(conn, "SELECT response FROM llm_cache WHERE request_hash = :h", {"h": request_hash})
    return json.loads(row["response"]) if row is not None else None


def put_cached(conn: Connection, *, request_hash: str, model: str, response: dict[str, Any], at: int) -> None:
    execute(
        conn,
        """
        INSERT INTO llm_cache (request_hash, model, response, created_at) VALUES (:h, :model, :response, :at)
        ON CONFLICT (request_hash) DO UPDATE SET model = excluded.model, response = excluded.response,
                                                 created_at = excluded.created_at
        """,
        {"h": request_hash, "model": model, "response": json.dumps(response, sort_keys=True), "at": at},
    )


def delete_cached(conn: Connection, *, older_than: int | None = None) -> int:
    """Forget cached replies (all, or those created before `older_than` ms). Returns rows deleted."""
    return execute(
        conn,
        "DELETE FROM llm_cache WHERE :older_than IS NULL OR created_at < :older_than",
        {"older_than": older_than},
    )

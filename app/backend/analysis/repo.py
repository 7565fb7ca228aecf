"""SQL of analysis_jobs (the exactly-once ledger) and what the built-in pass reads."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from backend.db.session import fetch_all, fetch_one, sqlite_of


def ensure_jobs(conn: Connection, *, conversation_id: int, revision: int,
                passes: list[tuple[str, str]], now_ms: int) -> list[int]:
    """Create the jobs of these (pass, prompt version) for this revision; ids of the ones created now."""
    raw = sqlite_of(conn)
    created = []
    for pass_name, prompt_version in passes:
        cursor = raw.execute(
            "INSERT INTO analysis_jobs (conversation_id, pass_name, prompt_version, revision, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            (conversation_id, pass_name, prompt_version, revision, now_ms, now_ms),
        )
        row = cursor.fetchone()
        if row is not None:
            created.append(row[0])
    return created


def get_job(conn: Connection, *, job_id: int) -> dict[str, Any] | None:
    """On the driver connection (this runs once per persisted result: SQLAlchemy's overhead shows)."""
    cursor = sqlite_of(conn).execute("SELECT * FROM analysis_jobs WHERE id = ?", (job_id,))
    row = cursor.fetchone()
    return dict(zip((c[0] for c in cursor.description), row, strict=False)) if row is not None else None


def start_job(conn: Connection, *, job_id: int, now_ms: int) -> bool:
    """queued/running/failed -> running (attempts + 1); False when it is already done."""
    return sqlite_of(conn).execute(
        "UPDATE analysis_jobs SET status = 'running', attempts = attempts + 1, updated_at = ? "
        "WHERE id = ? AND status != 'done'", (now_ms, job_id)).rowcount == 1


def finish_job(conn: Connection, *, job_id: int, result: dict[str, Any], now_ms: int) -> bool:
    return sqlite_of(conn).execute(
        "UPDATE analysis_jobs SET status = 'done', result = ?, error = NULL, updated_at = ? "
        "WHERE id = ? AND status != 'done'", (json.dumps(result), now_ms, job_id)).rowcount == 1


def fail_job(conn: Connection, *, job_id: int, error: str, now_ms: int) -> None:
    sqlite_of(conn).execute(
        "UPDATE analysis_jobs SET status = 'failed', error = ?, updated_at = ? WHERE id = ? AND status != 'done'",
        (error, now_ms, job_id))


def list_stale_jobs(conn: Connection, *, older_than_ms: int) -> list[int]:
    """Queued or running jobs untouched since `older_than_ms` (their task message was lost), except the
    unstarted jobs of active long runs: those wait their turn in the run's window (runs/window.py)."""
    return [r["id"] for r in fetch_all(conn, """
        SELECT id FROM analysis_jobs
        WHERE status IN ('queued', 'running') AND updated_at < :t
          AND NOT (status = 'queued' AND attempts = 0 AND id IN (
              SELECT l.job_id FROM analysis_run_jobs l JOIN analysis_runs r ON r.id = l.run_id
              WHERE r.status IN ('queued', 'running') AND r.scope IN ('history', 'all')))
        ORDER BY id
    """, {"t": older_than_ms})]


def list_jobs(conn: Connection, *, conversation_id: int) -> list[dict[str, Any]]:
    return fetch_all(conn, "SELECT * FROM analysis_jobs WHERE conversation_id = :c ORDER BY id", {"c": conversation_id})


def conversation_stats(conn: Connection, *, conversation_id: int) -> dict[str, Any]:
    row = fetch_one(conn, """
        SELECT count(*) AS messages, sum(is_from_me) AS from_me, count(DISTINCT sender_contact_id) AS senders,
               min(sent_at) AS started_at, max(sent_at) AS ended_at,
               sum(length(coalesce(text, ''))) AS characters
        FROM messages WHERE conversation_id = :c AND deleted_at IS NULL
    """, {"c": conversation_id})
    return dict(row or {})

"""SQL of analysis runs: which conversations a scope covers, the runs, and the jobs they link to."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from backend.db.session import execute, fetch_all, fetch_one, fetch_value, inserted_rowid, sqlite_of

# Open conversations may still grow: the sealing chain analyses them once they close. A run covers the rest.
ANALYSABLE_STATES = "('sealed', 'ready', 'historic')"
ACTIVE_STATUSES = ("queued", "running")


def list_conversations_all(conn: Connection) -> list[dict[str, Any]]:
    return fetch_all(conn, f"""
        SELECT id, chat_id, revision FROM conversations
        WHERE state IN {ANALYSABLE_STATES} AND message_count > 0 ORDER BY id
    """)


def list_conversations_history(conn: Connection) -> list[dict[str, Any]]:
    """Every analysable conversation, newest first (onboarding analyses what the user remembers first)."""
    return fetch_all(conn, f"""
        SELECT id, chat_id, revision FROM conversations
        WHERE state IN {ANALYSABLE_STATES} AND message_count > 0 ORDER BY last_message_at DESC, id DESC
    """)


def list_conversations_of_chats(conn: Connection, *, chat_ids: list[int]) -> list[dict[str, Any]]:
    return fetch_all(conn, f"""
        SELECT id, chat_id, revision FROM conversations
        WHERE chat_id IN (SELECT value FROM json_each(:chats)) AND state IN {ANALYSABLE_STATES}
          AND message_count > 0
        ORDER BY id
    """, {"chats": json.dumps(chat_ids)})


def list_conversations_since(conn: Connection, *, since_ms: int) -> list[dict[str, Any]]:
    return fetch_all(conn, f"""
        SELECT id, chat_id, revision FROM conversations
        WHERE last_message_at >= :since AND state IN {ANALYSABLE_STATES} AND message_count > 0 ORDER BY id
    """, {"since": since_ms})


MESSAGE_OVERHEAD_CHARS = 110  # what a message costs in a prompt's JSON besides its text (id, sender, time...)


def payload_chars(conn: Connection, *, conversation_ids: list[int]) -> int:
    """About the characters these conversations take in prompts: their text plus each message's fields
    (one SQL sum, where rendering every conversation took minutes for a whole history)."""
    return int(fetch_value(conn, """
        SELECT coalesce(sum(length(coalesce(text, ''))), 0) + :overhead * count(*) FROM messages
        WHERE conversation_id IN (SELECT value FROM json_each(:ids)) AND deleted_at IS NULL AND kind = 'message'
          AND is_unsent = 0 AND retracted_at IS NULL
    """, {"ids": json.dumps(conversation_ids), "overhead": MESSAGE_OVERHEAD_CHARS}) or 0)


def list_busiest_chats(conn: Connection, *, since_ms: int, limit: int) -> list[int]:
    """Chats with the most messages sent since `since_ms`, busiest first (ties: the lower id)."""
    return [r["chat_id"] for r in fetch_all(conn, """
        SELECT chat_id, count(*) AS messages FROM messages
        WHERE sent_at >= :since AND deleted_at IS NULL
        GROUP BY chat_id ORDER BY messages DESC, chat_id LIMIT :limit
    """, {"since": since_ms, "limit": limit})]


def chat_exists(conn: Connection, *, chat_id: int) -> bool:
    return fetch_value(conn, "SELECT count(*) FROM chats WHERE id = :id", {"id": chat_id}) > 0


def create(conn: Connection, *, scope: str, params: dict[str, Any], total: int, estimate_tokens: int,
           estimate_cost_usd: float | None, now_ms: int) -> int:
    return inserted_rowid(sqlite_of(conn).execute(
        "INSERT INTO analysis_runs (scope, params, status, total, estimate_tokens, estimate_cost_usd, created_at, "
        "updated_at) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?)",
        (scope, json.dumps(params), total, estimate_tokens, estimate_cost_usd, now_ms, now_ms),
    ))


def get(conn: Connection, *, run_id: int) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM analysis_runs WHERE id = :id", {"id": run_id})


def list_runs(conn: Connection, *, limit: int) -> list[dict[str, Any]]:
    return fetch_all(conn, "SELECT * FROM analysis_runs ORDER BY id DESC LIMIT :limit", {"limit": limit})


def link_jobs(conn: Connection, *, run_id: int, conversation_id: int, revision: int,
              passes: list[tuple[str, str]], created_ids: list[int]) -> int:
    """Link the jobs of these passes of this revision to the run (`created` for the ones made now)."""
    linked = 0
    for pass_name, prompt_version in passes:
        linked += execute(conn, """
            INSERT OR IGNORE INTO analysis_run_jobs (run_id, job_id, created)
            SELECT :run, id, id IN (SELECT value FROM json_each(:created)) FROM analysis_jobs
            WHERE conversation_id = :c AND pass_name = :p AND prompt_version = :v AND revision = :r
        """, {"run": run_id, "created": json.dumps(created_ids), "c": conversation_id, "p": pass_name,
              "v": prompt_version, "r": revision})
    return linked


def requeue_failed_jobs(conn: Connection, *, run_id: int, now_ms: int) -> int:
    """Failed jobs of the run go back to queued: the run tries them again (their error stays for audit)."""
    return execute(conn, """
        UPDATE analysis_jobs SET status = 'queued', updated_at = :now
        WHERE status = 'failed' AND id IN (SELECT job_id FROM analysis_run_jobs WHERE run_id = :run)
    """, {"run": run_id, "now": now_ms})


def list_run_jobs(conn: Connection, *, run_id: int) -> list[dict[str, Any]]:
    return fetch_all(conn, """
        SELECT j.id, j.status, j.conversation_id FROM analysis_run_jobs l JOIN analysis_jobs j ON j.id = l.job_id
        WHERE l.run_id = :run ORDER BY j.id
    """, {"run": run_id})


def job_counts(conn: Connection, *, run_id: int) -> dict[str, int]:
    row = fetch_one(conn, """
        SELECT count(*) AS total, coalesce(sum(j.status = 'done'), 0) AS done,
               coalesce(sum(j.status = 'failed'), 0) AS failed
        FROM analysis_run_jobs l JOIN analysis_jobs j ON j.id = l.job_id WHERE l.run_id = :run
    """, {"run": run_id})
    return dict(row or {"total": 0, "done": 0, "failed": 0})


def update_progress(conn: Connection, *, run_id: int, status: str, total: int, done: int, failed: int,
                    now_ms: int) -> bool:
    """Store progress (and `done` with finished_at) unless the run was cancelled or finished meanwhile."""
    return execute(conn, """
        UPDATE analysis_runs SET status = :status, total = :total, done = :done, failed = :failed, updated_at = :now,
               finished_at = CASE WHEN :status = 'done' THEN :now ELSE finished_at END
        WHERE id = :id AND status IN ('queued', 'running')
    """, {"id": run_id, "status": status, "total": total, "done": done, "failed": failed, "now": now_ms}) == 1


def cancel(conn: Connection, *, run_id: int, done: int, failed: int, now_ms: int) -> bool:
    return execute(conn, """
        UPDATE analysis_runs SET status = 'cancelled', done = :done, failed = :failed, updated_at = :now,
               finished_at = :now
        WHERE id = :id AND status IN ('queued', 'running')
    """, {"id": run_id, "done": done, "failed": failed, "now": now_ms}) == 1


def delete_unstarted_jobs(conn: Connection, *, run_id: int) -> int:
    """Withdraw the queued jobs this run created that no other active run includes (their task messages,
    still in the queue, then find no job and skip)."""
    return execute(conn, """
        DELETE FROM analysis_jobs WHERE status = 'queued'
          AND id IN (SELECT job_id FROM analysis_run_jobs WHERE run_id = :run AND created = 1)
          AND NOT EXISTS (
              SELECT 1 FROM analysis_run_jobs o JOIN analysis_runs r ON r.id = o.run_id
              WHERE o.job_id = analysis_jobs.id AND o.run_id != :run AND r.status IN ('queued', 'running'))
    """, {"run": run_id})


def list_active_runs_of_job(conn: Connection, *, job_id: int) -> list[int]:
    return [r["run_id"] for r in fetch_all(conn, """
        SELECT l.run_id FROM analysis_run_jobs l JOIN analysis_runs r ON r.id = l.run_id
        WHERE l.job_id = :job AND r.status IN ('queued', 'running') ORDER BY l.run_id
    """, {"job": job_id})]


def get_job_status(conn: Connection, *, job_id: int) -> str | None:
    return fetch_value(conn, "SELECT status FROM analysis_jobs WHERE id = :id", {"id": job_id})


def list_active_run_ids(conn: Connection) -> list[int]:
    return [r["id"] for r in fetch_all(
        conn, "SELECT id FROM analysis_runs WHERE status IN ('queued', 'running') ORDER BY id")]

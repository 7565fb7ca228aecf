"""SQL of the failed-tasks ledger (`failed_tasks`): every statement on that table, for the worker's ledger
(backend.worker.failures) and the admin API (backend.admin.service) alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from backend.db.session import execute, fetch_all, fetch_one


def get(conn: Connection, failed_task_id: int) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM failed_tasks WHERE id = :id", {"id": failed_task_id})


def get_by_key(conn: Connection, *, task_name: str, args: str, kwargs: str) -> dict[str, Any] | None:
    return fetch_one(
        conn,
        "SELECT * FROM failed_tasks WHERE task_name = :task_name AND args = :args AND kwargs = :kwargs",
        {"task_name": task_name, "args": args, "kwargs": kwargs},
    )


def upsert(
    conn: Connection,
    *,
    task_id: str,
    task_name: str,
    queue: str | None,
    args: str,
    kwargs: str,
    reason: str,
    attempts: int,
    status: str,
    first_failed_at: int,
    last_failed_at: int,
    next_retry_at: int | None,
) -> int:
    row = fetch_one(
        conn,
        """
        INSERT INTO failed_tasks (task_id, task_name, queue, args, kwargs, reason, attempts, status,
                                  first_failed_at, last_failed_at, next_retry_at)
        VALUES (:task_id, :task_name, :queue, :args, :kwargs, :reason, :attempts, :status,
                :first_failed_at, :last_failed_at, :next_retry_at)
        ON CONFLICT (task_name, args, kwargs) DO UPDATE SET
            task_id = excluded.task_id,
            queue = excluded.queue,
            reason = excluded.reason,
            attempts = excluded.attempts,
            status = excluded.status,
            first_failed_at = excluded.first_failed_at,
            last_failed_at = excluded.last_failed_at,
            next_retry_at = excluded.next_retry_at
        RETURNING id
        """,
        {"task_id": task_id, "task_name": task_name, "queue": queue, "args": args, "kwargs": kwargs,
         "reason": reason, "attempts": attempts, "status": status, "first_failed_at": first_failed_at,
         "last_failed_at": last_failed_at, "next_retry_at": next_retry_at},
    )
    assert row is not None
    return int(row["id"])


def find_open_id(conn: Connection, *, task_name: str, args: str, kwargs: str) -> int | None:
    """The id of the pending/replaying row of this exact work, if any (a cheap read on every success)."""
    row = fetch_one(
        conn,
        """
        SELECT id FROM failed_tasks
        WHERE task_name = :task_name AND args = :args AND kwargs = :kwargs
          AND status IN ('pending', 'replaying')
        """,
        {"task_name": task_name, "args": args, "kwargs": kwargs},
    )
    return int(row["id"]) if row else None


def mark_resolved(conn: Connection, failed_task_id: int) -> int:
    return execute(
        conn,
        "UPDATE failed_tasks SET status = 'resolved', next_retry_at = NULL "
        "WHERE id = :id AND status IN ('pending', 'replaying')",
        {"id": failed_task_id},
    )


def abandon_exhausted(conn: Connection, *, max_attempts: int) -> int:
    return execute(
        conn,
        "UPDATE failed_tasks SET status = 'abandoned', next_retry_at = NULL "
        "WHERE status IN ('pending', 'replaying') AND attempts >= :max_attempts",
        {"max_attempts": max_attempts},
    )


def list_due(conn: Connection, *, now: int, max_attempts: int, limit: int) -> list[dict[str, Any]]:
    """Pending rows whose time has come, and replays whose lease ran out (their message was lost)."""
    return fetch_all(
        conn,
        """
        SELECT * FROM failed_tasks
        WHERE status IN ('pending', 'replaying') AND next_retry_at <= :now AND attempts < :max_attempts
        ORDER BY next_retry_at, id
        LIMIT :limit
        """,
        {"now": now, "max_attempts": max_attempts, "limit": limit},
    )


def mark_replaying(conn: Connection, failed_task_id: int, *, lease_until: int, count_attempt: bool) -> int:
    return execute(
        conn,
        """
        UPDATE failed_tasks
        SET status = 'replaying', next_retry_at = :lease_until,
            attempts = attempts + CASE WHEN :count_attempt THEN 1 ELSE 0 END
        WHERE id = :id
        """,
        {"id": failed_task_id, "lease_until": lease_until, "count_attempt": int(count_attempt)},
    )


def mark_pending(conn: Connection, failed_task_id: int, *, next_retry_at: int, reason: str) -> int:
    return execute(
        conn,
        "UPDATE failed_tasks SET status = 'pending', next_retry_at = :next_retry_at, reason = :reason "
        "WHERE id = :id",
        {"id": failed_task_id, "next_retry_at": next_retry_at, "reason": reason},
    )



def list_failed_tasks(conn: Connection, *, status: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    return fetch_all(
        conn,
        """
        SELECT * FROM failed_tasks
        WHERE :status IS NULL OR status = :status
        ORDER BY last_failed_at DESC, id DESC
        LIMIT :limit
        """,
        {"status": status, "limit": limit},
    )


def count_by_status(conn: Connection) -> dict[str, int]:
    rows = fetch_all(conn, "SELECT status, COUNT(*) AS n FROM failed_tasks GROUP BY status")
    return {row["status"]: int(row["n"]) for row in rows}


def delete_failed_tasks(conn: Connection, *, statuses: tuple[str, ...]) -> int:
    placeholders = ", ".join(f":s{i}" for i in range(len(statuses)))
    return execute(
        conn,
        f"DELETE FROM failed_tasks WHERE status IN ({placeholders})",
        {f"s{i}": status for i, status in enumerate(statuses)},
    )

"""SQL of the failed-tasks ledger as the admin API reads and purges it (writes of failures: worker.failures)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from backend.db.session import execute, fetch_all, fetch_one


def get(conn: Connection, failed_task_id: int) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM failed_tasks WHERE id = :id", {"id": failed_task_id})


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

"""The failed-tasks ledger for operators: list it, re-send one task now, purge what is finished."""

from __future__ import annotations

import json
from typing import Any

import redis
from sqlalchemy import Engine

from backend.admin.exceptions import BrokerUnavailable, FailedTaskNotFound
from backend.admin.schemas import FailedTask, FailedTaskList, PurgeResult
from backend.db.session import run_write, session_scope
from backend.worker import failures
from backend.worker import failures_repo as repo

PURGE_STATUSES = {
    "resolved": ("resolved",),
    "abandoned": ("abandoned",),
    "all": failures.STATUSES,
}


def to_schema(row: dict[str, Any]) -> FailedTask:
    return FailedTask(**{**row, "args": json.loads(row["args"]), "kwargs": json.loads(row["kwargs"])})


def list_failed_tasks(engine: Engine, *, status: str | None = None, limit: int = 500) -> FailedTaskList:
    with session_scope(engine) as conn:
        rows = repo.list_failed_tasks(conn, status=status, limit=limit)
        counts = repo.count_by_status(conn)
    return FailedTaskList(items=[to_schema(row) for row in rows], counts=counts)


def broker_sender(redis_url: str) -> failures.Sender:
    """Send a task by name to the broker at `redis_url` (this process's Celery app may predate the setting)."""
    if not redis_url:
        raise BrokerUnavailable("No task broker is configured: set CHATSTATS_REDIS_URL (`chatstats up` sets it "
                                "for the processes it starts) to retry a failed task.")

    def send(task_name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
        # Celery (and with it every task module) loads with the first retry, not with the API
        from kombu.exceptions import KombuError  # noqa: PLC0415

        from backend.worker.celery_app import app as celery_app  # noqa: PLC0415
        from backend.worker.celery_app import celery_url  # noqa: PLC0415

        try:
            with celery_app.connection_for_write(celery_url(redis_url)) as connection:
                # fail fast (one quick retry) rather than hold the HTTP request through kombu's reconnect loop
                connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, interval_max=0.2)
                celery_app.send_task(task_name, args=args, kwargs=kwargs, connection=connection, retry=False)
        except (KombuError, redis.RedisError, OSError) as exc:
            raise BrokerUnavailable(f"The task broker at {redis_url} did not take the task ({exc}); is "
                                    "`chatstats up` running?") from exc

    return send


def retry_failed_task(engine: Engine, failed_task_id: int, *, redis_url: str) -> FailedTask:
    """Re-send the task now, whatever its status; its row turns `replaying` until the task succeeds or fails."""
    with session_scope(engine) as conn:
        row = repo.get(conn, failed_task_id)
    if row is None:
        raise FailedTaskNotFound(f"No failed task {failed_task_id}: list them at GET /api/admin/failed-tasks.")
    failures.send_row(row, broker_sender(redis_url), engine=engine, count_attempt=False)
    with session_scope(engine) as conn:
        updated = repo.get(conn, failed_task_id)
    if updated is None:  # purged meanwhile
        raise FailedTaskNotFound(f"Failed task {failed_task_id} was purged while it was being retried.")
    return to_schema(updated)


def purge_failed_tasks(engine: Engine, *, scope: str) -> PurgeResult:
    statuses = PURGE_STATUSES[scope]
    return PurgeResult(deleted=run_write(lambda conn: repo.delete_failed_tasks(conn, statuses=statuses),
                                         engine=engine))

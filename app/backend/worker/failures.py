"""The failed-tasks ledger (`failed_tasks`): what failed for good, why, how often, and when to replay it.

A task is keyed by (task_name, args, kwargs) in canonical JSON, so the same work failing again updates
one row instead of adding another. Rows move pending -> replaying -> resolved, or to abandoned after
MAX_ATTEMPTS failures. Knows no domain: the task name and its JSON arguments are all it stores.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine

from backend.db.clock import now_ms
from backend.db.session import execute, fetch_all, fetch_one, run_write, session_scope

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # a row that failed this many times is abandoned (an admin retry can still send it)
REPLAY_BASE_MS = 60_000  # the first replay comes ~1 min after the first failure, then doubles
REPLAY_MAX_MS = 6 * 3_600_000
REPLAY_LEASE_MS = 3_600_000  # a replay that neither succeeded nor failed in this time is sent again
REASON_MAX_CHARS = 2_000
STATUSES = ("pending", "replaying", "resolved", "abandoned")


def canonical_json(value: Any) -> str:
    """The one spelling of args/kwargs in the ledger (sorted keys, no spaces), so equal work matches."""
    if isinstance(value, tuple):
        value = list(value)
    return json.dumps(value if value is not None else [], sort_keys=True, separators=(",", ":"), default=str)


def failure_reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:REASON_MAX_CHARS]


def replay_backoff_ms(attempts: int) -> int:
    """Delay before replay number `attempts`: exponential from REPLAY_BASE_MS, capped, with jitter."""
    delay = min(REPLAY_MAX_MS, REPLAY_BASE_MS * 2 ** max(0, attempts - 1))
    return int(delay / 2 + random.random() * delay / 2)


# --- SQL ---------------------------------------------------------------------------------------------


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


# --- ledger operations (each its own write transaction; never called inside one) -----------------------


def record_failure(
    *,
    task_id: str,
    task_name: str,
    queue: str | None,
    args: Sequence[Any] | None,
    kwargs: dict[str, Any] | None,
    exc: BaseException,
    engine: Engine | None = None,
    permanent: bool = False,
) -> dict[str, Any]:
    """Upsert the failure of this (task_name, args, kwargs): attempts + 1, the reason, the next replay time.

    A row that was resolved and fails again starts over at attempt 1. A `permanent` failure (the work can
    never succeed as sent: its conversation is gone) is abandoned at once, with its reason, and never
    replayed (an admin retry can still send it). Returns the row.
    """
    key = {"task_name": task_name, "args": canonical_json(args), "kwargs": canonical_json(kwargs or {})}
    now = now_ms()

    def write(conn: Connection) -> dict[str, Any]:
        existing = get_by_key(conn, **key)
        fresh = existing is None or existing["status"] == "resolved"
        attempts = 1 if existing is None or fresh else int(existing["attempts"]) + 1
        exhausted = permanent or attempts >= MAX_ATTEMPTS
        failed_task_id = upsert(
            conn, task_id=task_id, queue=queue, reason=failure_reason(exc), attempts=attempts,
            status="abandoned" if exhausted else "pending",
            first_failed_at=now if existing is None or fresh else int(existing["first_failed_at"]), last_failed_at=now,
            next_retry_at=None if exhausted else now + replay_backoff_ms(attempts), **key,
        )
        row = get(conn, failed_task_id)
        assert row is not None
        return row

    return run_write(write, engine=engine)


def resolve_if_failed(
    *, task_name: str, args: Sequence[Any] | None, kwargs: dict[str, Any] | None, engine: Engine | None = None
) -> bool:
    """Mark the open ledger row of this work resolved (it just succeeded). Reads first: most tasks have none."""
    key = {"task_name": task_name, "args": canonical_json(args), "kwargs": canonical_json(kwargs or {})}
    with session_scope(engine) as conn:
        failed_task_id = find_open_id(conn, **key)
    if failed_task_id is None:
        return False
    return run_write(lambda conn: mark_resolved(conn, failed_task_id), engine=engine) > 0


Sender = Callable[[str, list[Any], dict[str, Any]], None]


def send_row(row: dict[str, Any], send: Sender, *, engine: Engine | None = None, count_attempt: bool) -> None:
    """Mark one row replaying (committed first), then send its task; back to pending if sending fails."""
    now = now_ms()
    run_write(lambda conn: mark_replaying(conn, row["id"], lease_until=now + REPLAY_LEASE_MS,
                                          count_attempt=count_attempt), engine=engine)
    try:
        send(row["task_name"], json.loads(row["args"]), json.loads(row["kwargs"]))
    except Exception:
        run_write(lambda conn: mark_pending(conn, row["id"], next_retry_at=now + REPLAY_BASE_MS,
                                            reason=row["reason"]), engine=engine)
        raise


def replay_due(send: Sender, *, engine: Engine | None = None, limit: int = 100) -> dict[str, int]:
    """Abandon exhausted rows, then re-send every due one. Returns counts: replayed, abandoned."""
    abandoned = run_write(lambda conn: abandon_exhausted(conn, max_attempts=MAX_ATTEMPTS), engine=engine)
    with session_scope(engine) as conn:
        due = list_due(conn, now=now_ms(), max_attempts=MAX_ATTEMPTS, limit=limit)
    for row in due:
        # a pending row's attempt was counted when it failed; a lapsed replay lease counts as one more
        send_row(row, send, engine=engine, count_attempt=row["status"] == "replaying")
        log.info("replaying failed task %s (%s, attempt %d)", row["id"], row["task_name"], row["attempts"] + 1)
    if abandoned:
        log.warning("abandoned %d failed task(s) after %d attempts", abandoned, MAX_ATTEMPTS)
    return {"replayed": len(due), "abandoned": abandoned}

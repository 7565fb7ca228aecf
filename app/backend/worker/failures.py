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
from backend.db.session import run_write, session_scope
from backend.worker import failures_repo as repo

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
        existing = repo.get_by_key(conn, **key)
        fresh = existing is None or existing["status"] == "resolved"
        attempts = 1 if existing is None or fresh else int(existing["attempts"]) + 1
        exhausted = permanent or attempts >= MAX_ATTEMPTS
        failed_task_id = repo.upsert(
            conn, task_id=task_id, queue=queue, reason=failure_reason(exc), attempts=attempts,
            status="abandoned" if exhausted else "pending",
            first_failed_at=now if existing is None or fresh else int(existing["first_failed_at"]), last_failed_at=now,
            next_retry_at=None if exhausted else now + replay_backoff_ms(attempts), **key,
        )
        row = repo.get(conn, failed_task_id)
        assert row is not None
        return row

    return run_write(write, engine=engine)


def resolve_if_failed(
    *, task_name: str, args: Sequence[Any] | None, kwargs: dict[str, Any] | None, engine: Engine | None = None
) -> bool:
    """Mark the open ledger row of this work resolved (it just succeeded). Reads first: most tasks have none."""
    key = {"task_name": task_name, "args": canonical_json(args), "kwargs": canonical_json(kwargs or {})}
    with session_scope(engine) as conn:
        failed_task_id = repo.find_open_id(conn, **key)
    if failed_task_id is None:
        return False
    return run_write(lambda conn: repo.mark_resolved(conn, failed_task_id), engine=engine) > 0


Sender = Callable[[str, list[Any], dict[str, Any]], None]


def send_row(row: dict[str, Any], send: Sender, *, engine: Engine | None = None, count_attempt: bool) -> None:
    """Mark one row replaying (committed first), then send its task; back to pending if sending fails."""
    now = now_ms()
    run_write(lambda conn: repo.mark_replaying(conn, row["id"], lease_until=now + REPLAY_LEASE_MS,
                                          count_attempt=count_attempt), engine=engine)
    try:
        send(row["task_name"], json.loads(row["args"]), json.loads(row["kwargs"]))
    except Exception:
        run_write(lambda conn: repo.mark_pending(conn, row["id"], next_retry_at=now + REPLAY_BASE_MS,
                                            reason=row["reason"]), engine=engine)
        raise


def replay_due(send: Sender, *, engine: Engine | None = None, limit: int = 100) -> dict[str, int]:
    """Abandon exhausted rows, then re-send every due one. Returns counts: replayed, abandoned."""
    abandoned = run_write(lambda conn: repo.abandon_exhausted(conn, max_attempts=MAX_ATTEMPTS), engine=engine)
    with session_scope(engine) as conn:
        due = repo.list_due(conn, now=now_ms(), max_attempts=MAX_ATTEMPTS, limit=limit)
    for row in due:
        # a pending row's attempt was counted when it failed; a lapsed replay lease counts as one more
        send_row(row, send, engine=engine, count_attempt=row["status"] == "replaying")
        log.info("replaying failed task %s (%s, attempt %d)", row["id"], row["task_name"], row["attempts"] + 1)
    if abandoned:
        log.warning("abandoned %d failed task(s) after %d attempts", abandoned, MAX_ATTEMPTS)
    return {"replayed": len(due), "abandoned": abandoned}

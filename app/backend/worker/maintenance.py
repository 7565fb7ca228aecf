"""Housekeeping tasks (queue dlq, on worker-db): failed-task replay, the beat heartbeat, a DB ping."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import redis

from backend.config import get_settings
from backend.db import migrate
from backend.db.clock import now_ms
from backend.worker import failures, task_refs
from backend.worker.celery_app import app
from backend.worker.tasks_base import ChatStatsTask

BEAT_KEY = "chatstats:beat:last"  # read by health (backend.health.processes)
BEAT_TTL_S = 60
REPLAY_INTERVAL_S = 30.0
HEARTBEAT_INTERVAL_S = 10.0

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "replay-failed-tasks": task_refs.REPLAY_FAILED_TASKS.beat(REPLAY_INTERVAL_S),
    # a backlog of stale heartbeats says nothing
    "heartbeat": task_refs.HEARTBEAT.beat(HEARTBEAT_INTERVAL_S, expires=HEARTBEAT_INTERVAL_S),
}
app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **BEAT_SCHEDULE}


@lru_cache(maxsize=4)
def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


@app.task(name=task_refs.REPLAY_FAILED_TASKS.name, base=ChatStatsTask, bind=True, record_failures=False)
def replay_failed_tasks(self: ChatStatsTask) -> dict[str, int]:
    """Re-send every due failed task (pending, its backoff elapsed); abandon those out of attempts."""
    return failures.replay_due(lambda name, args, kwargs: self.app.send_task(name, args=args, kwargs=kwargs))


@app.task(name=task_refs.HEARTBEAT.name, base=ChatStatsTask, record_failures=False)
def heartbeat() -> int:
    """Beat is alive: `chatstats:beat:last` = now (ms), expiring after a minute without beats."""
    now = now_ms()
    redis_client(get_settings().redis_url).set(BEAT_KEY, now, ex=BEAT_TTL_S)
    return now


@app.task(name=task_refs.PING_DB.name, base=ChatStatsTask, record_failures=False)
def ping_db() -> str | None:
    """The revision of central.db as the worker sees it (a round trip through a worker and the DB)."""
    return migrate.current_revision()

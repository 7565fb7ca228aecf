"""Sending a long run's jobs a window at a time, so that live work never queues behind a whole history.

A history run (tens of thousands of conversations) does not put all its task messages on the queue at
start: its job ids wait, in the run's order (newest conversation first), in a Redis list, and at most
WINDOW of them are on the queue or running at once. Each job that settles lets the next ones go. A live
pass or a persist therefore waits behind at most WINDOW bulk messages, and Redis holds ids, not messages.

In flight = sent - (settled since the start), from the run's counters (`service.move_counters` counts each
job once). Starting the run again (a restart of `up`) keeps the window Redis holds; only when Redis lost
it is the list rebuilt from SQLite (what was queued then goes again; running a job twice is harmless).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

WINDOW = 48  # jobs of one run queued or running at once (a few seconds of work for the workers)
TTL_S = 30 * 86_400


def keys(run_id: int) -> dict[str, str]:
    base = f"chatstats:run:{run_id}"
    return {"pending": f"{base}:pending", "sent": f"{base}:sent", "base": f"{base}:settled_at_start",
            "done": f"{base}:done", "failed": f"{base}:failed"}



def _reply(value: Any) -> Any:
    """A reply of the synchronous client (redis-py types every command as sync-or-async)."""
    return value


def load(client: redis.Redis, run_id: int, job_ids: list[int]) -> None:
    """The run's queued jobs, in order, wait in the list; nothing is in flight yet."""
    k = keys(run_id)
    done, failed = (int(v or 0) for v in _reply(client.mget(k["done"], k["failed"])))
    pipe = client.pipeline(transaction=True)
    pipe.delete(k["pending"])
    for first in range(0, len(job_ids), 5000):
        pipe.rpush(k["pending"], *job_ids[first:first + 5000])
    pipe.set(k["sent"], 0, ex=TTL_S)
    pipe.set(k["base"], done + failed, ex=TTL_S)
    pipe.expire(k["pending"], TTL_S)
    pipe.execute()


def loaded(client: redis.Redis, run_id: int) -> bool:
    """Has this run's window been set up (and Redis kept it)? A start again then leaves it as it is."""
    return bool(client.exists(keys(run_id)["sent"]))


def top_up(client: redis.Redis, run_id: int, send_job: Callable[[int], None]) -> int:
    """Send the next jobs until WINDOW are in flight; how many were sent."""
    k = keys(run_id)
    sent, base, done, failed = (int(v or 0) for v in _reply(client.mget(k["sent"], k["base"], k["done"], k["failed"])))
    room = WINDOW - (sent - (done + failed - base))
    if room <= 0:
        return 0
    job_ids: list[Any] = _reply(client.lpop(k["pending"], room)) or []
    if job_ids:
        client.incrby(k["sent"], len(job_ids))
    for job_id in job_ids:
        send_job(int(job_id))
    return len(job_ids)


def pending(client: redis.Redis, run_id: int) -> int:
    return int(_reply(client.llen(keys(run_id)["pending"])))

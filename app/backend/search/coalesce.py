"""Analyses to embed, gathered in Redis so that one `index.embed_analyses` task embeds many at once.

Every persisted analysis (`analysis.job_done`, two per conversation) used to send its own task: one text per
model call, one index rewrite per conversation (about half of the writer's CPU in a history run). Now the
handler adds the conversation to a Redis set and sends a task only when none is scheduled (a flag, with a
TTL in case its message is lost); the task clears the flag, then takes what gathered meanwhile. An id that
arrives after the task took the set finds no flag and schedules the next task, so none is left behind; one
lost with Redis is caught by the `index.embed_pending` sweep.
"""

from __future__ import annotations

from typing import Any

import redis

PENDING_KEY = "chatstats:index:analyses_pending"
SCHEDULED_KEY = "chatstats:index:analyses_scheduled"
SCHEDULED_TTL_S = 120  # a scheduled task that never ran (its message lost) stops holding the others back
TAKE_LIMIT = 512  # conversations per task


def _reply(value: Any) -> Any:
    """A reply of the synchronous client (redis-py types every command as sync-or-async)."""
    return value


def request(client: redis.Redis, conversation_id: int) -> bool:
    """Add the conversation; True when the caller must send a task (none is scheduled)."""
    pipe = client.pipeline(transaction=True)
    pipe.sadd(PENDING_KEY, conversation_id)
    pipe.set(SCHEDULED_KEY, 1, nx=True, ex=SCHEDULED_TTL_S)
    return bool(_reply(pipe.execute())[1])


def take(client: redis.Redis, *, limit: int = TAKE_LIMIT) -> list[int]:
    """Clear the flag (later ids schedule a new task), then take up to `limit` gathered conversations."""
    pipe = client.pipeline(transaction=True)
    pipe.delete(SCHEDULED_KEY)
    pipe.spop(PENDING_KEY, limit)
    return sorted(int(cid) for cid in _reply(pipe.execute())[1] or [])


def reschedule(client: redis.Redis) -> bool:
    """After a task: True when conversations are still waiting and no task is scheduled (send one)."""
    if not int(_reply(client.scard(PENDING_KEY))):
        return False
    return bool(client.set(SCHEDULED_KEY, 1, nx=True, ex=SCHEDULED_TTL_S))

"""Named queues and which tasks go where (by task-name prefix)."""

from __future__ import annotations

from typing import Any

LLM = "llm"  # network-bound: LLM calls, remote embeddings (gevent worker)
EVENTS = "events"  # EventBus handlers (gevent worker)
DB = "db"  # the single writer of analysis results (prefork -c 1 worker)
INDEX = "index"  # CPU: local embeddings, FAISS builds (prefork -c 1 worker)
DLQ = "dlq"  # replays of failed tasks (prefork worker)

ALL = (LLM, EVENTS, DB, INDEX, DLQ)
IO_QUEUES = (LLM, EVENTS)  # worker-io: celery worker -P gevent
DB_QUEUES = (DB, INDEX, DLQ)  # worker-db: celery worker -P prefork -c 1

# task name prefix -> queue; the longest matching prefix wins
ROUTES: dict[str, str] = {
    "llm.": LLM,
    "events.": EVENTS,
    "conversations.": DB,
    "analysis.": DB,
    "index.": INDEX,
    "maintenance.": DLQ,
}


def queue_for(task_name: str) -> str:
    matches = [prefix for prefix in ROUTES if task_name.startswith(prefix)]
    return ROUTES[max(matches, key=len)] if matches else DB


def route_task(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any) -> dict[str, str]:
    """Celery router: every task by its name."""
    return {"queue": queue_for(name)}

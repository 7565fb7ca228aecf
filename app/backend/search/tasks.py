"""Celery tasks of search (the `index` queue): embed sealed conversations and persisted analyses, and sweep
for lost ones (beat, 5 min)."""

from __future__ import annotations

from backend.config import get_settings
from backend.db.engine import get_engine
from backend.events.bus import redis_client
from backend.search import analyses, coalesce, service
from backend.worker import task_refs
from backend.worker.celery_app import app
from backend.worker.tasks_base import ChatStatsTask

BEAT_SCHEDULE = {
    "embed-pending": task_refs.EMBED_PENDING.beat(300.0),
}
app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **BEAT_SCHEDULE}


@app.task(name=task_refs.EMBED_CONVERSATIONS.name, base=ChatStatsTask, ignore_result=True)
def embed_conversations(conversation_ids: list[int]) -> dict[str, int]:
    """Embed the chunks of these conversations that changed (by content hash) and update the index."""
    return service.embed_conversations(get_engine(), [int(cid) for cid in conversation_ids])


@app.task(name=task_refs.EMBED_ANALYSES.name, base=ChatStatsTask, ignore_result=True)
def embed_analyses(conversation_ids: list[int]) -> dict[str, int]:
    """Embed the analyses of these conversations whose text changed (by content hash) and update their index."""
    return analyses.embed_analyses(get_engine(), [int(cid) for cid in conversation_ids])


@app.task(name=task_refs.EMBED_REQUESTED_ANALYSES.name, base=ChatStatsTask, ignore_result=True)
def embed_requested_analyses() -> dict[str, int]:
    """Embed the analyses of the conversations gathered by `coalesce.request` (many per model call and index
    update), then schedule the next task when more gathered meanwhile."""
    client = redis_client(get_settings().redis_url)
    stats = analyses.embed_analyses(get_engine(), coalesce.take(client))
    if coalesce.reschedule(client):
        task_refs.EMBED_REQUESTED_ANALYSES.send(app)
    return stats


@app.task(name=task_refs.EMBED_PENDING.name, base=ChatStatsTask, record_failures=False, ignore_result=True)
def embed_pending() -> dict[str, int]:
    """Embed a bounded batch of conversations and analyses that are missing or stale (a lost event is caught)."""
    return service.embed_pending(get_engine())

"""Celery tasks of conversations: the sealing check (beat, every 60 s) and finalizing a sealed one."""

from __future__ import annotations

from backend.config import get_settings
from backend.conversations import sealing
from backend.db.clock import now_ms as wall_clock_ms
from backend.db.engine import get_engine
from backend.events.publish import relay_now
from backend.worker import task_refs
from backend.worker.celery_app import app
from backend.worker.tasks_base import ChatStatsTask

BEAT_SCHEDULE = {
    "check-sealing": task_refs.CHECK_SEALING.beat(60.0),
}
app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **BEAT_SCHEDULE}


LOST_WORK_GRACE_MS = 2 * 60_000


@app.task(name=task_refs.CHECK_SEALING.name, base=ChatStatsTask, record_failures=False, ignore_result=True)
def check_sealing(now_ms: int | None = None) -> int:
    """Seal what is due at `now_ms` (default: the wall clock; tests pass a clock of their own), and
    pick up finalizations and batch passes whose events were lost."""
    settings = get_settings()
    now = now_ms if now_ms is not None else wall_clock_ms()
    sealed = sealing.seal_due(get_engine(), now_ms=now, gap_ms=settings.conversation_gap_ms)
    if sealed:
        relay_now()
    stuck, unanalysed = sealing.lost_work(get_engine(), now_ms=now, grace_ms=LOST_WORK_GRACE_MS)
    for conversation_id, revision in stuck:
        finalize_conversation.delay(conversation_id, revision)
    for conversation_id, revision in unanalysed:
        task_refs.ENQUEUE_BATCH_PASSES.send(app, conversation_id, revision)
    return len(sealed)


@app.task(name=task_refs.FINALIZE_CONVERSATION.name, base=ChatStatsTask, ignore_result=True)
def finalize_conversation(conversation_id: int, revision: int) -> bool:
    done = sealing.finalize(get_engine(), conversation_id=conversation_id, revision=revision)
    if done:
        relay_now()
    return done

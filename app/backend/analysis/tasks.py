"""Celery tasks of analysis: run a job (db queue, the single writer) and re-send lost ones."""

from __future__ import annotations

from backend.analysis import jobs, registry, repo
from backend.db.clock import now_ms
from backend.db.engine import get_engine
from backend.db.session import session_scope
from backend.worker.celery_app import app
from backend.worker.tasks_base import ChatStatsTask

STALE_AFTER_MS = 5 * 60_000
BEAT_SCHEDULE = {
    "requeue-stale-jobs": {"task": "analysis.requeue_stale_jobs", "schedule": 120.0},
}
app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **BEAT_SCHEDULE}


@app.task(name="analysis.run_job", base=ChatStatsTask, ignore_result=True)
def run_analysis_job(job_id: int) -> bool:
    registry.batch_passes()  # registers the built-ins in this process
    return jobs.run_job(get_engine(), job_id) is not None


@app.task(name="analysis.enqueue_batch_passes", base=ChatStatsTask, ignore_result=True)
def enqueue_batch_passes(conversation_id: int, revision: int) -> list[int]:
    created = jobs.ensure_batch_jobs(get_engine(), conversation_id=conversation_id, revision=revision)
    for job_id in created:
        run_analysis_job.delay(job_id)
    return created


@app.task(name="analysis.requeue_stale_jobs", base=ChatStatsTask, record_failures=False, ignore_result=True)
def requeue_stale_jobs() -> int:
    """Jobs whose task message vanished (a wiped Redis) are sent again; running them twice is harmless."""
    with session_scope(get_engine()) as conn:
        stale = repo.list_stale_jobs(conn, older_than_ms=now_ms() - STALE_AFTER_MS)
    for job_id in stale:
        run_analysis_job.delay(job_id)
    return len(stale)

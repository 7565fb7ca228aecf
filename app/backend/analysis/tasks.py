"""Celery tasks of analysis (thin: each calls one service).

- `analysis.run_job` (db queue): starts a job; a local pass runs there, a model pass goes on to
- `llm.call_llm` (llm queue, the gevent worker): reads, renders the prompt, asks the model, then sends
- `analysis.persist_result` (db queue, the single writer): writes the result in one transaction.
"""

from __future__ import annotations

from typing import Any

from backend.analysis import jobs, passes, persist, repo
from backend.db.clock import now_ms
from backend.db.engine import get_engine
from backend.db.session import session_scope
from backend.events.publish import relay_now
from backend.llm.errors import LLMTransientError
from backend.worker import task_refs
from backend.worker.celery_app import app
from backend.worker.tasks_base import ChatStatsTask, TransientError, redacted_argsrepr

STALE_AFTER_MS = 5 * 60_000
BEAT_SCHEDULE = {
    "requeue-stale-jobs": task_refs.REQUEUE_STALE_JOBS.beat(120.0),
}
app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **BEAT_SCHEDULE}


class ModelUnavailable(TransientError):
    """The model provider failed in a way a later attempt can get past (rate limit, timeout, 5xx)."""


@app.task(name=task_refs.RUN_JOB.name, base=ChatStatsTask, ignore_result=True)
def run_analysis_job(job_id: int) -> str:
    step = jobs.run_job(get_engine(), job_id)
    if step == "needs_llm":
        call_llm.delay(job_id)
    return step


@app.task(name=task_refs.CALL_LLM.name, base=ChatStatsTask, ignore_result=True, max_retries=8,
          retry_backoff_base_s=5.0, retry_backoff_max_s=300.0)
def call_llm(job_id: int) -> bool:
    try:
        payload = passes.call_llm(get_engine(), job_id)
    except LLMTransientError as exc:
        raise ModelUnavailable(str(exc)) from exc
    except Exception as exc:
        record_job_failure.delay(job_id, f"{type(exc).__name__}: {exc}")
        raise
    if payload is None:
        return False
    persist_result.apply_async((job_id, payload), argsrepr=redacted_argsrepr(job_id, payload))
    return True


@app.task(name=task_refs.PERSIST_RESULT.name, base=ChatStatsTask, ignore_result=True)
def persist_result(job_id: int, payload: dict[str, Any]) -> bool:
    written = persist.persist_result(get_engine(), job_id, payload)
    if written:
        relay_now()  # analysis.job_done
    return written


@app.task(name=task_refs.RECORD_JOB_FAILURE.name, base=ChatStatsTask, ignore_result=True)
def record_job_failure(job_id: int, error: str) -> None:
    jobs.fail_job(get_engine(), job_id, error)


@app.task(name=task_refs.ENQUEUE_BATCH_PASSES.name, base=ChatStatsTask, ignore_result=True)
def enqueue_batch_passes(conversation_id: int, revision: int) -> list[int]:
    created = jobs.ensure_batch_jobs(get_engine(), conversation_id=conversation_id, revision=revision)
    for job_id in created:
        run_analysis_job.delay(job_id)
    return created


@app.task(name=task_refs.REQUEUE_STALE_JOBS.name, base=ChatStatsTask, record_failures=False, ignore_result=True)
def requeue_stale_jobs() -> int:
    """Jobs whose task message vanished (a wiped Redis) are sent again; running them twice is harmless."""
    with session_scope(get_engine()) as conn:
        stale = repo.list_stale_jobs(conn, older_than_ms=now_ms() - STALE_AFTER_MS)
    for job_id in stale:
        run_analysis_job.delay(job_id)
    return len(stale)

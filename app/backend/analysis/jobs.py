"""The exactly-once ledger of batch passes: a job per (conversation, pass, prompt version, revision)."""

from __future__ import annotations

import logging
from typing import Any, Literal

from sqlalchemy import Connection, Engine

from backend.analysis import registry, repo
from backend.db.clock import now_ms
from backend.db.session import run_write
from backend.settings import repo as settings_repo

log = logging.getLogger(__name__)

JobStep = Literal["skipped", "done", "needs_llm"]


def enabled_batch_passes(conn: Connection) -> list[registry.AnalysisPass]:
    """Batch passes not switched off by `analysis.passes.<name>.enabled` (a missing setting means on)."""
    return [p for p in registry.batch_passes() if settings_repo.get(conn, key=p.setting_key) is not False]


def ensure_batch_jobs(engine: Engine, *, conversation_id: int, revision: int) -> list[int]:
    """Jobs for every enabled batch pass of this revision; returns only the ones created now (to enqueue).

    Redelivered events find their jobs already there and enqueue nothing.
    """
    def write(conn: Connection) -> list[int]:
        passes = [(p.name, p.prompt_version) for p in enabled_batch_passes(conn)]
        return repo.ensure_jobs(conn, conversation_id=conversation_id, revision=revision, passes=passes,
                                now_ms=now_ms())

    return run_write(write, engine=engine)


def run_job(engine: Engine, job_id: int) -> JobStep:
    """Start a job unless it is done. A local pass runs here and its result is committed before the task
    is acknowledged ("done"); a model pass is left running for `call_llm` -> `persist_result` ("needs_llm")."""
    def start(conn: Connection) -> dict[str, Any] | None:
        return repo.get_job(conn, job_id=job_id) if repo.start_job(conn, job_id=job_id, now_ms=now_ms()) else None

    job = run_write(start, engine=engine)  # one write transaction: started, and read back
    if job is None:
        return "skipped"
    analysis_pass = _pass_of(job)
    if job is None or analysis_pass is None:
        return "skipped"
    if analysis_pass.run is None:
        return "needs_llm"
    try:
        result = analysis_pass.run(engine, job["conversation_id"])
    except Exception as exc:
        fail_job(engine, job_id, f"{type(exc).__name__}: {exc}")
        raise
    run_write(lambda conn: repo.finish_job(conn, job_id=job_id, result=result, now_ms=now_ms()), engine=engine)
    return "done"


def fail_job(engine: Engine, job_id: int, error: str) -> None:
    run_write(lambda conn: repo.fail_job(conn, job_id=job_id, error=error[:2000], now_ms=now_ms()), engine=engine)


def _pass_of(job: dict[str, Any] | None) -> registry.AnalysisPass | None:
    if job is None:
        return None
    try:
        return registry.get(job["pass_name"])
    except KeyError:
        log.warning("analysis job %s names an unknown pass %r", job["id"], job["pass_name"])
        return None

"""The exactly-once ledger of batch passes: a job per (conversation, pass, prompt version, revision)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import Engine

from backend.analysis import registry, repo
from backend.db.clock import now_ms
from backend.db.session import run_write

log = logging.getLogger(__name__)


def ensure_batch_jobs(engine: Engine, *, conversation_id: int, revision: int) -> list[int]:
    """Jobs for every batch pass of this revision; returns only the ones created now (to enqueue).

    Redelivered events find their jobs already there and enqueue nothing.
    """
    passes = [(p.name, p.prompt_version) for p in registry.batch_passes()]
    return run_write(lambda conn: repo.ensure_jobs(conn, conversation_id=conversation_id, revision=revision,
                                                   passes=passes, now_ms=now_ms()), engine=engine)


def run_job(engine: Engine, job_id: int) -> dict[str, Any] | None:
    """Run one job unless it is done; the result is committed before the task is acknowledged."""
    if not run_write(lambda conn: repo.start_job(conn, job_id=job_id, now_ms=now_ms()), engine=engine):
        return None
    job = run_write(lambda conn: repo.get_job(conn, job_id=job_id), engine=engine)
    analysis_pass = registry.get(job["pass_name"]) if job else None
    if analysis_pass is None:
        return None
    try:
        result = analysis_pass.run(engine, job["conversation_id"])
    except Exception as exc:
        run_write(lambda conn: repo.fail_job(conn, job_id=job_id, error=f"{type(exc).__name__}: {exc}",
                                             now_ms=now_ms()), engine=engine)
        raise
    run_write(lambda conn: repo.finish_job(conn, job_id=job_id, result=result, now_ms=now_ms()), engine=engine)
    return result

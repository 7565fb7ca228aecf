"""Celery side of analysis runs (thin: each calls one service of backend.analysis.runs.service).

- `analysis.start_run` (db queue): ensures and links the run's jobs, then sends `analysis.run_job` for each.
- Progress: after a task that can settle a job (`analysis.run_job`, `analysis.persist_result`,
  `analysis.record_job_failure`) ran in this worker, `task_postrun` hands the job id to
  `runs.record_job_outcome`, which moves the runs that include the job. The analysis tasks themselves
  stay unaware of runs.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from celery import Celery
from celery.signals import task_postrun

from backend.analysis.runs import service as runs
from backend.config import get_settings
from backend.db.engine import get_engine
from backend.events.bus import redis_client
from backend.worker import task_refs
from backend.worker.celery_app import app, celery_url
from backend.worker.tasks_base import ChatStatsTask

log = logging.getLogger(__name__)

JOB_SETTLING_TASKS = frozenset(ref.name for ref in (task_refs.RUN_JOB, task_refs.PERSIST_RESULT,
                                                   task_refs.RECORD_JOB_FAILURE))


def _client() -> redis.Redis | None:
    url = get_settings().redis_url
    return redis_client(url) if url else None


@app.task(name=task_refs.START_RUN.name, base=ChatStatsTask, ignore_result=True)
def start_run(run_id: int) -> int:
    sent = runs.start_run(get_engine(), run_id, client=_client(),
                          send_job=lambda job_id: task_refs.RUN_JOB.send(app, job_id))
    return len(sent)


@task_postrun.connect
def count_job_outcome(sender: Any = None, args: Any = None, **_: Any) -> None:
    """A failing progress update is logged, never raised into the task that settled the job."""
    if getattr(sender, "name", None) not in JOB_SETTLING_TASKS or not args:
        return
    try:
        runs.record_job_outcome(get_engine(), int(args[0]), client=_client(),
                                send_job=lambda job_id: task_refs.RUN_JOB.send(app, job_id))
    except Exception:
        log.exception("progress of the analysis runs of job %s could not be recorded", args[0])


def enqueue_start_run(run_id: int, *, redis_url: str | None = None) -> None:
    """Send `analysis.start_run` through this process's Celery app, or through the Redis at `redis_url`."""
    if not redis_url or celery_url(redis_url) == app.conf.broker_url:
        task_refs.START_RUN.send(app, run_id)
        return
    client = Celery("chatstats", broker=celery_url(redis_url))
    try:
        task_refs.START_RUN.send_with(client, {"queue": task_refs.START_RUN.queue}, run_id)
    finally:
        client.close()

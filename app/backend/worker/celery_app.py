"""The Celery app. Broker and result backend: the private Redis of `chatstats up` (CHATSTATS_REDIS_URL)."""

from __future__ import annotations

from typing import Any

from celery import Celery, signals
from kombu import Queue

from backend.config import get_settings
from backend.worker import queues

TASK_MODULES = (
    "backend.worker.maintenance",
    "backend.events.tasks",
    "backend.conversations.tasks",
    "backend.analysis.tasks",
    "backend.analysis.live.tasks",
    "backend.analysis.runs.tasks",
    "backend.search.tasks",
)


def celery_url(redis_url: str) -> str:
    """redis-py spells a unix socket unix:///path; kombu spells it redis+socket:///path."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url[len("unix://"):]
    return redis_url


def create_celery() -> Celery:
    settings = get_settings()
    url = celery_url(settings.redis_url) if settings.redis_url else "memory://"
    app = Celery("chatstats", broker=url, include=list(TASK_MODULES))
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_queues=[Queue(name) for name in queues.ALL],
        task_default_queue=queues.DB,
        task_routes=(queues.route_task,),
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=300,
        task_soft_time_limit=270,
        broker_connection_retry_on_startup=True,
        # A task whose whole worker died unacknowledged comes back after this long; it must exceed the
        # time limit (and any retry countdown), or a slow task would be delivered twice while running.
        broker_transport_options={"visibility_timeout": 600},
        worker_hijack_root_logger=False,
        timezone="UTC",
        enable_utc=True,
    )
    return app


app = create_celery()


@signals.worker_init.connect
def preload_gateway(**_kwargs: Any) -> None:
    """A worker imports the LLM gateway (LiteLLM: seconds of CPU) while it boots, before it answers the ready
    ping, instead of in its first model call or embedding; beat, which only needs the task names, never does."""
    import backend.llm.gateway  # noqa: F401, PLC0415

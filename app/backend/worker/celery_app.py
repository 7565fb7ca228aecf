"""The Celery app. Broker and result backend: the private Redis of `chatstats up` (CHATSTATS_REDIS_URL)."""

from __future__ import annotations

import os
import sys
import threading
import warnings
from typing import Any

from celery import Celery
from celery.exceptions import SecurityWarning
from celery.signals import celeryd_init, worker_init, worker_process_init, worker_ready
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

# As root (a container, CI) every worker warns that root is discouraged; `chatstats up` says it once instead.
# The workers accept JSON only, which is what makes root merely discouraged rather than refused.
if hasattr(os, "geteuid") and os.geteuid() == 0:
    warnings.filterwarnings("ignore", category=SecurityWarning)


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


POOL_HEADROOM = 10  # connections beyond one per execution slot: the consumer, heartbeats, events, beat


def pool_size(concurrency: int) -> int:
    """Redis connections a worker of this concurrency needs at once: every greenlet (or process) may ack,
    publish and retry at the same moment. kombu's default of 10 made worker-io (gevent, -c 100) raise
    MaxConnectionsError ("Couldn't ack") under an ordinary append, and the unacked tasks then waited out
    the visibility timeout."""
    return max(1, concurrency) + POOL_HEADROOM


def size_broker_pool(conf: Any, concurrency: int) -> None:
    """One broker pool sized for this worker's concurrency (both the producer pool and the transport's)."""
    size = pool_size(concurrency)
    conf.broker_pool_limit = size
    conf.broker_transport_options = {**(conf.broker_transport_options or {}), "max_connections": size}


@celeryd_init.connect
def _size_pool_for_concurrency(conf: Any = None, options: dict[str, Any] | None = None, **_: Any) -> None:
    concurrency = int((options or {}).get("concurrency") or 0)
    if conf is not None and concurrency:
        size_broker_pool(conf, concurrency)


app = create_celery()


READY_WAIT_S = 120.0  # a pool process warms up after this long even if its worker never said it was ready


def _import_gateway() -> None:
    import backend.llm.gateway  # noqa: F401, PLC0415 - LiteLLM: seconds of CPU, off the ready path


_worker_ready: Any = None  # a multiprocessing.Event made before a prefork pool forks; set once the worker is ready


@worker_init.connect
def warm_gateway_before_ready(**_kwargs: Any) -> None:
    """CHATSTATS_GATEWAY_WARMUP=before_ready: the worker (a prefork worker's parent, whose children inherit
    the import) loads the gateway before it answers its first ping. "background": the event the pool
    processes wait on before they warm up (they are forked after this, before the worker is ready)."""
    global _worker_ready  # noqa: PLW0603 - one per worker process, shared with the pool processes it forks
    warmup = get_settings().gateway_warmup
    if warmup == "before_ready":
        _import_gateway()
    elif warmup == "background":
        import multiprocessing  # noqa: PLC0415

        _worker_ready = multiprocessing.Event()


@worker_ready.connect
def warm_gateway_in_gevent_worker(**_kwargs: Any) -> None:
    """worker-io (gevent) imports the LLM gateway (LiteLLM: ~5 s of CPU) once it is ready, on a native thread of
    gevent's pool, instead of before its first ping (which held `chatstats up` back by that much) or in its
    first model call. Not in a greenlet: that would run before the consumer's first ping and hold the hub;
    a greenlet that needs the gateway meanwhile waits for the import without holding the hub.
    A prefork worker's tasks run in its children: see warm_gateway_in_pool_process."""
    if _worker_ready is not None:
        _worker_ready.set()
    try:
        from gevent import monkey  # noqa: PLC0415 - only in a gevent worker
    except ImportError:
        return
    if monkey.is_module_patched("threading") and get_settings().gateway_warmup == "background":
        import gevent  # noqa: PLC0415

        gevent.get_hub().threadpool.spawn(_import_gateway)


@worker_process_init.connect
def warm_gateway_in_pool_process(**_kwargs: Any) -> None:
    """A prefork child (worker-db) imports the gateway on a thread of its own once its worker is ready: the
    child reports itself up at once (Celery kills a child that takes over worker_proc_alive_timeout), the
    import takes no CPU from the other processes' start, and a task that needs the gateway first waits on
    the import lock rather than importing it a second time."""
    if get_settings().gateway_warmup != "background" or "backend.llm.gateway" in sys.modules:
        return
    ready = _worker_ready

    def warm() -> None:
        if ready is not None:
            ready.wait(READY_WAIT_S)
        _import_gateway()

    threading.Thread(target=warm, name="warm-gateway", daemon=True).start()

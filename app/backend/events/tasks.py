"""Celery side of the EventBus: the consumer inside the io worker, and the relay sweeper for beat."""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import signals

from backend.config import get_settings
from backend.db.engine import get_engine
from backend.events.bus import EventConsumer, redis_client, relay_pending
from backend.events.handlers import dispatch
from backend.worker import queues, task_refs
from backend.worker.celery_app import app
from backend.worker.tasks_base import ChatStatsTask

log = logging.getLogger(__name__)

BEAT_SCHEDULE = {
    "relay-outbox": task_refs.RELAY_OUTBOX.beat(5.0),
}
app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **BEAT_SCHEDULE}
_consumer: EventConsumer | None = None


def _load_handlers() -> None:
    """Import the modules that register handlers (kept here so the bus itself knows no domain)."""
    import backend.analysis.handlers  # noqa: PLC0415
    import backend.analysis.live.handlers  # noqa: PLC0415
    import backend.analysis.runs.service  # noqa: PLC0415 - defines analysis.run_progress (no handler; decoded)
    import backend.conversations.handlers  # noqa: PLC0415
    import backend.search.handlers  # noqa: F401, PLC0415


@signals.worker_ready.connect
def start_consumer(sender: Any = None, **_kwargs: Any) -> None:
    """The worker that serves the events queue also runs the stream consumer."""
    global _consumer  # noqa: PLW0603 - one consumer per worker process
    names = {queue.name for queue in getattr(getattr(sender, "task_consumer", None), "queues", [])}
    settings = get_settings()
    if queues.EVENTS not in names or not settings.redis_url:
        return
    _load_handlers()
    _consumer = EventConsumer(get_engine(), settings.redis_url, name=f"{sender.hostname}")
    threading.Thread(target=_consumer.run, name="event-consumer", daemon=True).start()
    log.info("event consumer %s started", _consumer.name)


@signals.worker_shutting_down.connect
def stop_consumer(**_kwargs: Any) -> None:
    if _consumer is not None:
        _consumer.stop()


@app.task(name=task_refs.RELAY_OUTBOX.name, base=ChatStatsTask, record_failures=False, ignore_result=True)
def relay_outbox() -> int:
    """Sweep: relay whatever no process relayed right after its commit (a crash, a Redis restart)."""
    settings = get_settings()
    return relay_pending(get_engine(), redis_client(settings.redis_url))


@app.task(name=task_refs.DISPATCH_EVENT.name, base=ChatStatsTask, ignore_result=True)
def dispatch_event(name: str, payload: Any, outbox_id: int) -> int:
    """Run the handlers of one event: what an admin retry of an event recorded in failed_tasks sends."""
    _load_handlers()
    return dispatch(name, payload, outbox_id=outbox_id)

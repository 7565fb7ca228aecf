"""What `chatstats up` runs, as seen from the API: Redis, the workers (with queue depths), beat, the watcher."""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

from backend.db.clock import now_ms
from backend.worker import queues

BEAT_KEY = "chatstats:beat:last"  # set every 10 s by maintenance.heartbeat
BEAT_STALE_MS = 30_000


@lru_cache(maxsize=4)
def _control_app(redis_url: str) -> Any:  # a Celery app, imported lazily
    """One Celery client per broker for the worker pings (health is polled often: no app per call)."""
    from backend.worker.celery_app import celery_url, create_celery  # noqa: PLC0415

    app = create_celery()
    app.conf.broker_url = celery_url(redis_url)
    return app


def redis_and_workers(redis_url: str) -> dict[str, Any]:
    from backend.events.bus import redis_client  # noqa: PLC0415

    report: dict[str, Any] = {}
    client = redis_client(redis_url)
    try:
        started = time.perf_counter()
        client.ping()
        report["redis"] = {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    except Exception as exc:  # noqa: BLE001 - health reports, never raises
        report["redis"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        return report
    depths = {name: int(client.llen(name)) for name in queues.ALL}  # type: ignore[arg-type]  # redis-py types its sync client's replies as sync-or-async
    try:
        replies = _control_app(redis_url).control.ping(timeout=0.5) or []
    except Exception:  # noqa: BLE001 - a broker hiccup reads as "workers not answering"
        replies = []
    hosts = sorted(host for reply in replies for host in reply)
    report["workers"] = {
        "io": {"ok": any(h.startswith("io@") for h in hosts), "queues": {q: depths[q] for q in queues.IO_QUEUES}},
        "db": {"ok": any(h.startswith("db@") for h in hosts), "queues": {q: depths[q] for q in queues.DB_QUEUES}},
        "hosts": hosts,
    }
    last = client.get(BEAT_KEY)
    age = now_ms() - int(last) if last else None  # type: ignore[arg-type]  # redis-py types its sync client's replies as sync-or-async
    report["beat"] = {"ok": age is not None and age < BEAT_STALE_MS, "last_heartbeat_ms_ago": age}
    return report


def watcher_status(watcher: Any) -> dict[str, Any]:
    if watcher is None:
        return {"ok": False, "running": False}
    sync = watcher.sync
    return {"ok": watcher.running and sync.last_error is None, "running": watcher.running,
            "passes": sync.passes, "last_error": sync.last_error}

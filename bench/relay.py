"""Event relay latency: outbox row committed -> handler invoked, through a real redis-server.

The writer commits an event and relays right after its commit (as every writer does); a consumer
thread reading the stream through the consumer group runs the handler. Used by bench/pipeline.py.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from pathlib import Path


def relay_latency(count: int = 300) -> dict:
    from backend.db import migrate
    from backend.db.engine import create_db_engine
    from backend.db.session import run_write
    from backend.events import outbox
    from backend.events.bus import EventConsumer, redis_client, relay_pending
    from backend.events.handlers import handles
    from backend.events.types import ChatUpdated
    from backend.worker.redis_server import start_redis

    folder = Path(tempfile.mkdtemp(prefix="chatstats-relay-"))
    engine = create_db_engine(folder / "central.db")
    migrate.upgrade(engine)
    server = start_redis(folder)
    invoked: dict[int, float] = {}
    marker = 10_000_000

    @handles(ChatUpdated)
    def note(event: ChatUpdated) -> None:
        if event.chat_id >= marker:
            invoked[event.chat_id] = time.perf_counter()

    consumer = EventConsumer(engine, server.url, block_ms=200)
    consumer.ensure_group()
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    client = redis_client(server.url)
    committed: dict[int, float] = {}
    try:
        for i in range(count):
            key = marker + i
            run_write(lambda conn, key=key: outbox.record(conn, [ChatUpdated(key)]), engine=engine)
            committed[key] = time.perf_counter()
            relay_pending(engine, client)
            deadline = time.monotonic() + 2
            while key not in invoked and time.monotonic() < deadline:
                time.sleep(0.0002)
            time.sleep(0.005)
    finally:
        consumer.stop()
        thread.join(2)
        server.stop()
        engine.dispose()
    latencies = sorted((invoked[k] - t) * 1000 for k, t in committed.items() if k in invoked)
    return {
        "events": count, "delivered": len(latencies),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
        "target_p50_ms": 20,
    }


if __name__ == "__main__":
    import json

    print(json.dumps(relay_latency(), indent=2))

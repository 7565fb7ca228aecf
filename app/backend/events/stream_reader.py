"""Reading a Redis stream for an SSE client: from an id, blocking, resumable, with heartbeats."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import redis.asyncio as aioredis

from backend.errors import BackendError

STREAM_PREFIX = "chatstats:"
BLOCK_MS = 15_000  # a heartbeat comment goes out when nothing arrived for this long


class StreamNotAllowed(BackendError):
    status_code = 404
    code = "stream_not_found"


class BrokerNotConfigured(BackendError):
    status_code = 503
    code = "broker_unavailable"


def check_stream_name(stream: str) -> str:
    """Only our own streams can be read (never arbitrary keys of the Redis server)."""
    name = stream if stream.startswith(STREAM_PREFIX) else STREAM_PREFIX + stream
    if any(c.isspace() for c in name) or "*" in name:
        raise StreamNotAllowed(f"No stream named {stream!r}.", stream=stream)
    return name


def decode_entry(fields: dict[bytes, bytes]) -> dict[str, Any]:
    entry = {key.decode(): value.decode(errors="replace") for key, value in fields.items()}
    if "payload" in entry:
        try:
            entry["payload"] = json.loads(entry["payload"])
        except json.JSONDecodeError:
            pass
    return entry


def require_broker(redis_url: str) -> str:
    if not redis_url:
        raise BrokerNotConfigured("Progress streams need Redis: run `chatstats up` (or set CHATSTATS_REDIS_URL).")
    return redis_url


async def read_stream(
    redis_url: str, stream: str, *, start_id: str, accepts: Callable[[dict[str, Any]], bool] = lambda _e: True,
    block_ms: int = BLOCK_MS,
) -> AsyncIterator[dict[str, str]]:
    """SSE frames for the entries after `start_id` ("$" = only new ones), then as they arrive."""
    client = aioredis.Redis.from_url(redis_url)
    last = start_id
    try:
        if last == "$":  # resolve "now" once so that a reconnect loop cannot skip entries
            info = await client.xinfo_stream(stream) if await client.exists(stream) else None
            last = info["last-generated-id"].decode() if info else "0-0"
        while True:
            batches = await client.xread({stream: last}, count=500, block=block_ms)
            if not batches:
                yield {"comment": "heartbeat"}
                continue
            for _name, entries in batches:
                for entry_id, fields in entries:
                    last = entry_id.decode()
                    entry = decode_entry(fields)
                    if accepts(entry):
                        yield {"id": last, "event": entry.get("name", "entry"),
                               "data": json.dumps(entry, separators=(",", ":"))}
    finally:
        await client.aclose()

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from backend.db.engine import get_engine
from backend.db.session import run_write
from backend.events import outbox
from backend.events.bus import redis_client, relay_pending
from backend.events.types import ConversationReadyForAnalysis, ConversationSealed
from tests.live.test_sse import _sse


@pytest.fixture
def api(redis_server, migrated_engine, isolated_data_dir):
    env = {**os.environ, "CHATSTATS_REDIS_URL": redis_server.url, "CHATSTATS_LIVE_SYNC": "false",
           "CHATSTATS_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "backend.cli.main", "serve"], env=env, stdout=subprocess.PIPE,
                               text=True)
    try:
        ready = json.loads(process.stdout.readline())
        yield httpx.Client(base_url=ready["url"], headers={"Authorization": f"Bearer {ready['token']}"}, timeout=10)
    finally:
        process.terminate()
        process.wait(10)


def _emit(redis_server, *events) -> None:
    run_write(lambda conn: outbox.record(conn, list(events)), engine=get_engine())
    relay_pending(get_engine(), redis_client(redis_server.url))


def _take(stream, count: int) -> list[dict]:
    """The next `count` event frames of an SSE frame iterator (heartbeat comments skipped)."""
    frames = []
    for frame in stream:
        if "event" in frame:
            frames.append(frame)
        if len(frames) == count:
            return frames
    return frames


def test_scoped_progress_stream_replays_and_follows(api, redis_server):
    _emit(redis_server, ConversationSealed(7, 1, 1), ConversationSealed(8, 1, 1))
    with api.stream("GET", "/api/analysis/streaming/queue/stream",
                    params={"scope": "conversation:7", "start_id": "0"}) as response:
        assert response.headers["cache-control"] == "no-cache"
        stream = _sse(response)
        first = _take(stream, 1)[0]
        assert first["event"] == "conversation.sealed" and first["data"]["payload"]["conversation_id"] == 7
        _emit(redis_server, ConversationReadyForAnalysis(8, 1), ConversationReadyForAnalysis(7, 1))
        second = _take(stream, 1)[0]
    assert second["event"] == "conversation.ready_for_analysis"
    assert second["data"]["payload"]["conversation_id"] == 7
    # resuming after the first frame's id gives the second again, not the first
    with api.stream("GET", "/api/analysis/streaming/queue/stream", params={"scope": "conversation:7"},
                    headers={"Last-Event-ID": first["id"]}) as response:
        again = _take(_sse(response), 1)[0]
    assert again["id"] == second["id"]


def test_generic_stream_endpoint_and_bad_scopes(api, redis_server):
    _emit(redis_server, ConversationSealed(9, 2, 1))
    with api.stream("GET", "/api/analysis/streaming/redis_stream/events", params={"start_id": "0"}) as response:
        frame = _take(_sse(response), 1)[0]
    assert frame["data"]["payload"]["conversation_id"] == 9 and "-" in frame["id"]
    assert api.get("/api/analysis/streaming/queue/stream", params={"scope": "planet:mars"}).status_code == 400
    assert api.get("/api/analysis/streaming/queue/stream",
                   headers={"Authorization": "Bearer wrong"}).status_code == 401

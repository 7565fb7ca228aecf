from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from backend.config import reset_settings_cache

TOKEN = "test-token-assistant-0123456789"


def sse_events(response: httpx.Response) -> Iterator[dict]:
    """A text/event-stream as {event, data} dicts (pings and comments skipped)."""
    event: dict = {}
    for line in response.iter_lines():
        if line == "":
            if "event" in event or "data" in event:
                yield event
            event = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            event[field] = json.loads(value) if field == "data" else value


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def serve(imported, monkeypatch):
    """Start the real app under uvicorn in a thread (after the test set its environment); returns a client."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(**env: str) -> httpx.Client:
        monkeypatch.setenv("CHATSTATS_LIVE_SYNC", "false")
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        reset_settings_cache()
        from backend.api.app import create_app

        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(token=TOKEN), host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {TOKEN}"},
                            timeout=30)

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)

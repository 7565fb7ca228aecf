"""Run the API alone (uvicorn on loopback) and print the ready line."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time

import uvicorn

from backend.api.app import create_app
from backend.config import Settings
from backend.webapp.urls import app_url


def bind_loopback(host: str, port: int) -> socket.socket:
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise SystemExit(f"refusing to bind {host}: ChatStats serves loopback only (127.0.0.1)")
    family = socket.AF_INET6 if host == "::1" else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1" if host == "localhost" else host, port))
    return sock


def serve(settings: Settings) -> None:
    sock = bind_loopback(settings.api_host, settings.api_port)
    host, port = sock.getsockname()[:2]
    app = create_app(settings)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    url = f"http://{'[::1]' if ':' in host else host}:{port}"

    def announce() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.01)
        if server.started:
            print(json.dumps({"event": "ready", "url": url, "token": app.state.token,
                              "app_url": app_url(url, app.state.token)}), flush=True)

    threading.Thread(target=announce, name="announce-ready", daemon=True).start()
    server.run(sockets=[sock])
    if not server.started:  # start-up (migrations) failed; uvicorn logged why
        sys.exit(1)

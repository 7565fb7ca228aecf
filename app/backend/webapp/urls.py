"""Where the renderer lives on the API, and the address that opens it (light: `chatstats up` prints it
without importing FastAPI)."""

from __future__ import annotations

APP_PATH = "/app"


def app_url(base_url: str, token: str) -> str:
    """The address that opens the inbox with the launch token (in the fragment, never sent over HTTP)."""
    return f"{base_url}{APP_PATH}/#token={token}"

"""`chatstats mcp`: the MCP server over stdio (stdout carries the protocol; logs go to stderr)."""

from __future__ import annotations

import logging
import sys

import anyio

from backend.config import Settings
from backend.db import migrate
from backend.db.engine import get_engine
from backend.errors import InvalidRequest
from backend.tools.privacy import PRIVACY_MODES, Privacy


def run_mcp(settings: Settings, *, privacy: str | None) -> None:
    from backend.mcp.server import build_server, run_stdio

    chosen = privacy or settings.tools_privacy
    if chosen not in PRIVACY_MODES:
        raise InvalidRequest(f"--privacy must be one of {', '.join(PRIVACY_MODES)}, not {chosen!r}.")
    root = logging.getLogger()  # stdout is the protocol's: every log record goes to stderr
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(logging.StreamHandler(sys.stderr))
    engine = get_engine(settings.central_db_path)
    migrate.upgrade(engine)
    mode: Privacy = chosen  # type: ignore[assignment,unused-ignore]  # checked against PRIVACY_MODES above
    anyio.run(run_stdio, build_server(engine, privacy=mode))

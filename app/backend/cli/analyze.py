"""`chatstats analyze`: estimate a run, create it (after --yes or a prompt), and follow it (--wait)."""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path

import redis
import typer
from sqlalchemy import Engine

from backend.analysis.runs import service as runs
from backend.analysis.runs.schemas import RunRequest, Scope
from backend.analysis.runs.tasks import enqueue_start_run
from backend.config import Settings
from backend.db.engine import get_engine
from backend.db.migrate import upgrade
from backend.errors import InvalidRequest

POLL_S = 0.5


def analyze(settings: Settings, *, all_chats: bool, chat_id: int | None, since: str | None, passes: list[str],
            yes: bool, wait: bool, timeout_s: float) -> int:
    request = _request(all_chats=all_chats, chat_id=chat_id, since=since, passes=passes)
    engine = get_engine(settings.central_db_path)
    upgrade(engine)
    estimate = runs.estimate(engine, request, model=settings.llm_model)
    print(json.dumps({"event": "estimate", **estimate.model_dump(mode="json")}), flush=True)
    if not yes:
        if not sys.stdin.isatty():
            print("Not started: pass --yes to create the run.", file=sys.stderr)
            return 1
        if not typer.confirm("Start this analysis run?", default=False):
            return 1
    url = broker_url(settings)
    client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5) if url else None
    created = runs.create_run(engine, request, model=settings.llm_model, client=client,
                              enqueue=lambda run_id: enqueue_start_run(run_id, redis_url=url))
    print(json.dumps({"event": "run_created", "run": created.run.model_dump(mode="json")}), flush=True)
    if not wait:
        return 0
    assert client is not None  # create_run checked it
    return follow(engine, client, created.run.id, timeout_s=timeout_s)


def follow(engine: Engine, client: redis.Redis, run_id: int, *, timeout_s: float) -> int:
    """Progress until the run is done or cancelled: one plain line per change when piped, a live line on a TTY."""
    tty = sys.stdout.isatty()
    deadline = time.monotonic() + timeout_s
    last = None
    while True:
        run = runs.get_run(engine, run_id)
        counters = runs.read_counters(client, run_id)
        line = f"run {run_id}: {run.status} {counters['done']}/{counters['total']} done, {counters['failed']} failed"
        if line != last:
            print(("\r" + line) if tty else line, end="" if tty else "\n", flush=True)
            last = line
        if run.status in ("done", "cancelled"):
            if tty:
                print()
            print(json.dumps({"event": "run_finished", "run": run.model_dump(mode="json")}), flush=True)
            return 0 if run.status == "done" and run.failed == 0 else 1
        if time.monotonic() > deadline:
            print(f"\nstill {run.status} after {timeout_s:.0f} s: follow it with GET /api/analysis/runs/{run_id}",
                  file=sys.stderr)
            return 1
        time.sleep(POLL_S)


def broker_url(settings: Settings) -> str:
    """CHATSTATS_REDIS_URL, else the private Redis that `chatstats up` runs in the data dir (when it is up)."""
    if settings.redis_url:
        return settings.redis_url
    socket = Path(settings.data_dir) / "redis" / "redis.sock"
    return f"unix://{socket}" if socket.exists() else ""


def _request(*, all_chats: bool, chat_id: int | None, since: str | None, passes: list[str]) -> RunRequest:
    if sum((all_chats, chat_id is not None, since is not None)) > 1:
        raise InvalidRequest("Choose one of --all, --chat ID and --since YYYY-MM-DD (none: the onboarding scope).")
    try:
        since_day = date.fromisoformat(since) if since is not None else None
    except ValueError as exc:
        raise InvalidRequest(f"--since takes a date as YYYY-MM-DD, not {since!r}.") from exc
    scope: Scope = "all" if all_chats else "chat" if chat_id is not None else "since" if since_day else "onboarding"
    names = [name for item in passes for name in item.split(",") if name] or None
    return RunRequest(scope=scope, chat_id=chat_id, since=since_day, passes=names)

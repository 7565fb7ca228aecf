"""`chatstats up`: prepare (migrate, import), start every process, print the ready line, supervise.

stdout carries JSON status lines only (`ready`, then `restarted`), for the Electron shell to read; logs,
and every child's output prefixed with its name, go to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from backend.config import Settings, get_settings
from backend.logging_setup import configure_logging
from backend.webapp.urls import app_url

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _status_writer(stdout: TextIO) -> Callable[[dict], None]:
    lock = threading.Lock()

    def emit(event: dict) -> None:
        with lock:
            stdout.write(json.dumps(event) + "\n")
            stdout.flush()

    return emit


def _announce(url: str, *, terminal: TextIO | None = None) -> None:
    """For a person at a terminal (`make run`): where the inbox is. Only on a terminal: the URL carries
    the token, which must not reach a log file (the shell reads it from the ready line instead). `terminal`:
    stdout when it is one (the announcement replaces the JSON ready line there), else stderr if it is one."""
    stream = terminal or (sys.stderr if sys.stderr.isatty() else None)
    if stream is None:
        return
    print(f"\nChatStats is running. Open the inbox: {url}\n(Ctrl-C stops everything.)", file=stream, flush=True)


def child_env(settings: Settings, *, redis_url: str, source: Path, addressbook: Path | None,
              token: str) -> dict[str, str]:
    """What every child sees: the settings this launch decided, on top of our own environment."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "CHATSTATS_REDIS_URL": redis_url,
           "CHATSTATS_DATA_DIR": str(settings.data_dir.expanduser().resolve()),
           "CHATSTATS_SOURCE_CHAT_DB": str(source),
           "CHATSTATS_API_TOKEN": token,
           "CHATSTATS_API_PORT": str(settings.api_port)}
    if addressbook is not None:
        env["CHATSTATS_ADDRESSBOOK_DIR"] = str(addressbook)
    return env


def _begin_onboarding(settings: Settings, redis_url: str) -> None:
    """The history analysis after the first import (a local model starts it; a paid one waits for consent)."""
    import redis

    from backend.analysis.runs import onboarding
    from backend.analysis.runs.tasks import enqueue_start_run
    from backend.db.engine import get_engine

    try:
        client = redis.Redis.from_url(redis_url, socket_timeout=10, socket_connect_timeout=5)
        state = onboarding.begin(get_engine(settings.central_db_path), model=settings.llm_model, client=client,
                                 enqueue=lambda run_id: enqueue_start_run(run_id, redis_url=redis_url))
        log.info("history analysis: %s", (state or {}).get("status", "nothing to analyse yet"))
    except Exception:
        log.exception("the history analysis could not be started: start it from the app or `chatstats analyze`")


def _start_demo_writer(chat_db: Path, rate: float) -> tuple[threading.Event, threading.Thread]:
    from backend.source.demo.live import run_live

    stop = threading.Event()

    def write() -> None:
        try:
            run_live(chat_db, rate=rate, stop=stop)
        except Exception:
            log.exception("the demo writer stopped")

    thread = threading.Thread(target=write, name="demo-writer", daemon=True)
    thread.start()
    return stop, thread


def resolve_redis(settings: Settings, data_dir: Path) -> tuple[Any, str]:
    """(the private redis-server child, its URL), or (None, CHATSTATS_REDIS_URL) once that Redis answers."""
    from backend.supervisor.exceptions import ChildFailedToStart
    from backend.supervisor.ready import redis_answers
    from backend.supervisor.specs import redis_spec

    if not settings.redis_url:
        return redis_spec(data_dir)
    if not redis_answers(settings.redis_url, timeout=2.0):
        raise ChildFailedToStart(f"No Redis answers at CHATSTATS_REDIS_URL={settings.redis_url}: start it, or unset "
                                 "the variable to let `chatstats up` run a private one.", child="redis")
    return None, settings.redis_url


def up(*, source: Path | None, addressbook: Path | None, demo: bool, demo_if_missing: bool, demo_messages: int,
       demo_rate: float, parent_pid: int | None) -> int:
    """Runs until a signal or the parent's death; returns the exit code (0 after a clean stop)."""
    from backend.supervisor.instance import hold_instance_lock
    from backend.supervisor.prepare import prepare
    from backend.supervisor.ready import CeleryPinger
    from backend.supervisor.specs import supervised_children
    from backend.supervisor.supervisor import ParentWatch, Supervisor

    terminal = sys.stdout if sys.stdout.isatty() else None  # a person reads stdout, not a program (shell, test)
    emit = _status_writer(sys.stdout)
    sys.stdout = sys.stderr  # nothing but status lines may reach the real stdout
    configure_logging(logging.getLevelName(logging.getLogger().level))  # same level, handlers now on stderr

    if hasattr(os, "geteuid") and os.geteuid() == 0:
        log.info("running as root: so do the workers (Celery discourages it; they accept JSON messages only)")
    parent = ParentWatch(parent_pid) if parent_pid is not None else None
    settings = get_settings()
    data_dir = settings.data_dir.expanduser().resolve()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # the user's messages: theirs alone
    lock = hold_instance_lock(data_dir)  # noqa: F841 - held until we exit
    private_redis, redis_url = resolve_redis(settings, data_dir)
    # the import is crash-safe: a signal before any child exists just ends the process (default handlers)
    prepared = prepare(settings, source=source, addressbook=addressbook, demo=demo, demo_if_missing=demo_if_missing,
                       demo_messages=demo_messages)
    if prepared.summary is not None:
        log.info("imported %s: %s", prepared.source, json.dumps(prepared.summary.to_json()["counts"]))
    stop = threading.Event()
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda *_: stop.set())

    pinger = CeleryPinger(redis_url)
    token = settings.api_token or secrets.token_urlsafe(32)
    env = child_env(settings, redis_url=redis_url, source=prepared.configured, addressbook=prepared.addressbook,
                    token=token)
    supervisor = Supervisor(supervised_children(data_dir, redis=private_redis, pinger=pinger), env, stop=stop,
                            emit=emit, parent=parent, start_timeout=settings.start_timeout_s or None)
    writer = None
    try:
        if not supervisor.start():
            return 0
        assert supervisor.url is not None  # start() returned True: the API answered
        if terminal is not None:  # the URL once, in words (it carries the token), instead of the JSON line too
            _announce(app_url(supervisor.url, token), terminal=terminal)
        else:
            emit({"event": "ready", "url": supervisor.url, "token": token, "pid": os.getpid(),
                  "app_url": app_url(supervisor.url, token)})
            _announce(app_url(supervisor.url, token))
        threading.Thread(target=_begin_onboarding, args=(settings, redis_url), name="onboarding", daemon=True).start()
        if prepared.demo and demo_rate > 0:
            writer = _start_demo_writer(prepared.source, demo_rate)
        supervisor.watch()
    finally:
        if writer is not None:
            writer[0].set()
        supervisor.stop()
        pinger.close()
        if private_redis is not None:
            Path(redis_url.removeprefix("unix://")).unlink(missing_ok=True)
        if writer is not None:
            writer[1].join(timeout=2)
        log.info("stopped")
    return 0

"""Tasks that exist only for the worker tests (the workers load them with --include).

Each records its runs in files or a SQLite file of the test's own (paths come as arguments), so the
test can count runs across processes. Names start with "sample.": they route to the db queue; "llm.sample_"
ones go to worker-io.
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from backend.worker.celery_app import app
from backend.worker.tasks_base import ChatStatsTask, TransientError

FAST = {"base": ChatStatsTask, "retry_backoff_base_s": 0.05, "retry_backoff_max_s": 0.5}


def record_run(runs_file: str) -> int:
    """Append this run (pid) to `runs_file`; returns the run number."""
    with open(runs_file, "a") as out:
        out.write(f"{os.getpid()}\n")
    return len(Path(runs_file).read_text().splitlines())


@app.task(name="sample.flaky", **FAST)
def flaky(runs_file: str, fail_times: int) -> int:
    """Fails transiently on its first `fail_times` runs, then succeeds."""
    run = record_run(runs_file)
    if run <= fail_times:
        raise TransientError(f"flaky run {run} of {fail_times} failing")
    return run


@app.task(name="sample.needs_file", **FAST)
def needs_file(path: str, runs_file: str) -> str:
    """Fails for good (FileNotFoundError is not transient) until `path` exists."""
    record_run(runs_file)
    return Path(path).read_text()


@app.task(name="sample.touch", **FAST)
def touch(path: str) -> None:
    """A barrier: the single db worker process runs it after whatever it was running."""
    Path(path).touch()


@app.task(name="sample.slow_upsert", **FAST)
def slow_upsert(db_path: str, key: str, gate_path: str) -> None:
    """Logs an attempt, waits for the gate file, then writes its one idempotent effect keyed by `key`."""
    with closing(sqlite3.connect(db_path, isolation_level=None, timeout=10)) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS attempts (id INTEGER PRIMARY KEY, key TEXT, pid INTEGER)")
        conn.execute("CREATE TABLE IF NOT EXISTS effects (key TEXT PRIMARY KEY, pid INTEGER)")
        conn.execute("INSERT INTO attempts (key, pid) VALUES (?, ?)", (key, os.getpid()))
    deadline = time.monotonic() + 30
    while not Path(gate_path).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    with closing(sqlite3.connect(db_path, isolation_level=None, timeout=10)) as conn:
        conn.execute("INSERT OR IGNORE INTO effects (key, pid) VALUES (?, ?)", (key, os.getpid()))


@app.task(name="llm.sample_nap", **FAST)
def nap(stamps_file: str, seconds: float) -> None:
    """Sleeps (worker-io's greenlet yields), then appends "started ended" (epoch seconds) to `stamps_file`."""
    started = time.time()
    time.sleep(seconds)
    with open(stamps_file, "a") as out:
        out.write(f"{started} {time.time()}\n")


@app.task(name="llm.sample_fan_out", **FAST)
def fan_out(runs_file: str, number: int, children_file: str, wave_s: float) -> None:
    """Waits for the next multiple of `wave_s` on the clock (every greenlet holding a task wakes in the same
    loop turn), then publishes one child task, records its run and is acknowledged: each wave of greenlets
    publishes and acks at the same moment, each needing a broker connection of its own."""
    time.sleep(wave_s - time.time() % wave_s)
    fan_out.app.send_task("llm.sample_record", args=[children_file, number])
    with open(runs_file, "a") as out:
        out.write(f"{number}\n")


@app.task(name="llm.sample_record", **FAST)
def record(runs_file: str, number: int) -> None:
    with open(runs_file, "a") as out:
        out.write(f"{number}\n")


@app.task(name="sample.open_conversation", **FAST)
def open_conversation(conversation_id: int, runs_file: str) -> None:
    """Meets a permanent error, as a task does whose conversation was deleted or re-imported since it was sent."""
    record_run(runs_file)
    from backend.conversations.exceptions import ConversationNotFound

    raise ConversationNotFound(f"Conversation {conversation_id} does not exist (deleted or re-imported?).",
                               conversation_id=conversation_id)

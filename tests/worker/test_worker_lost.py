"""acks_late + reject_on_worker_lost: a task whose process is SIGKILLed mid-run is delivered again."""

from __future__ import annotations

import signal
import sqlite3
from contextlib import closing
from pathlib import Path

from tests.worker.conftest import wait_for


def query(db_path: Path, sql: str) -> list[tuple]:
    if not db_path.exists():
        return []
    with closing(sqlite3.connect(db_path, timeout=10)) as conn:
        try:
            return conn.execute(sql).fetchall()
        except sqlite3.OperationalError:  # table not created yet
            return []


def test_task_killed_mid_run_is_redelivered_and_its_effect_happens_once(celery_workers, tmp_path: Path) -> None:
    db_path, gate = tmp_path / "effects.db", tmp_path / "gate"
    celery_workers.app.send_task("sample.slow_upsert", args=[str(db_path), "k1", str(gate)])
    [(first_pid,)] = wait_for(lambda: query(db_path, "SELECT pid FROM attempts"), what="the first attempt")
    assert first_pid in celery_workers.pool_children("db")  # the prefork process running the task

    celery_workers.kill_pid(first_pid, signal.SIGKILL)  # the process running the task dies mid-way
    attempts = wait_for(lambda: len(rows := query(db_path, "SELECT pid FROM attempts")) >= 2 and rows,
                        what="redelivery after the kill")
    assert attempts[1][0] != first_pid  # a fresh pool process got the redelivered message
    gate.touch()

    wait_for(lambda: query(db_path, "SELECT key FROM effects"), what="the effect")
    assert query(db_path, "SELECT key, pid FROM effects") == [("k1", attempts[1][0])]
    assert len(query(db_path, "SELECT pid FROM attempts")) == 2
    assert celery_workers.processes["db"].poll() is None  # the worker itself survived and replaced its child

"""The worker fixtures themselves, with both production workers: ping, kill, restart, gevent retries."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.worker.conftest import failed_rows, runs, wait_for
from tests.worker_fixtures import nodename


@pytest.fixture
def celery_worker_names() -> tuple[str, ...]:
    return ("io", "db")


def test_workers_start_answer_and_restart(celery_workers) -> None:
    assert celery_workers.ping() == {"io", "db"}
    queues = celery_workers.app.control.inspect(timeout=1).active_queues()
    assert sorted(q["name"] for q in queues[nodename("io")]) == ["events", "llm"]
    assert sorted(q["name"] for q in queues[nodename("db")]) == ["db", "dlq", "index"]

    old_pid = celery_workers.processes["db"].pid
    celery_workers.kill("db", signal.SIGKILL)
    assert celery_workers.processes["db"].poll() == -signal.SIGKILL
    assert celery_workers.ping(("db",)) == set()
    celery_workers.restart("db")
    assert celery_workers.processes["db"].pid != old_pid
    assert celery_workers.ping() == {"io", "db"}


def test_gevent_worker_retries_and_records_on_its_queue(celery_workers, migrated_engine,
                                                         tmp_path: Path) -> None:
    runs_file = tmp_path / "io.runs"
    celery_workers.app.send_task("sample.flaky", args=[str(runs_file), 100], queue="llm")
    [row] = wait_for(lambda: failed_rows(migrated_engine), what="the failure on worker-io")
    assert len(runs(runs_file)) == 6
    assert (row["queue"], row["reason"]) == ("llm", "TransientError: flaky run 6 of 100 failing")
    assert len(set(runs(runs_file))) == 1  # one process: the gevent worker itself ran every attempt

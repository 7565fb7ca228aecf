"""worker-io at the concurrency `chatstats up` gives it, under a burst far larger than kombu's default broker pool
(10 connections): every task runs once, and the worker never runs out of Redis connections (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.supervisor import specs
from backend.worker.celery_app import pool_size
from tests.worker.conftest import runs, wait_for

BURST = 600
KOMBU_DEFAULT_POOL = 10
WAVE_S = 0.25  # the greenlets holding tasks all finish them on the same quarter second


@pytest.fixture
def celery_worker_names() -> tuple[str, ...]:
    return ("io",)


@pytest.fixture
def celery_io_concurrency() -> int:
    return specs.IO_CONCURRENCY


def test_a_burst_of_tasks_that_ack_and_publish_at_once_all_run_without_exhausting_the_pool(
        celery_workers, tmp_path: Path):
    assert specs.IO_CONCURRENCY > KOMBU_DEFAULT_POOL and pool_size(specs.IO_CONCURRENCY) > specs.IO_CONCURRENCY
    parents, children = tmp_path / "parents.txt", tmp_path / "children.txt"
    for number in range(BURST):
        celery_workers.app.send_task("llm.sample_fan_out", args=[str(parents), number, str(children), WAVE_S])
    expected = [str(n) for n in range(BURST)]
    # a task whose ack failed would come back only after the 600 s visibility timeout: this wait would fail first
    wait_for(lambda: len(runs(parents)) >= BURST and len(runs(children)) >= BURST, timeout=180,
             what=f"{BURST} tasks and the {BURST} they publish")
    assert sorted(runs(parents), key=int) == expected  # each exactly once
    assert sorted(runs(children), key=int) == expected
    log = celery_workers.log("io")
    assert "MaxConnectionsError" not in log and "Couldn't ack" not in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]

"""worker-io keeps all of its greenlets busy while its queue is long (late acks must not starve the fetching)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.worker.conftest import wait_for
from tests.worker_fixtures import IO_TEST_CONCURRENCY

NAP_S = 0.5


@pytest.fixture
def celery_worker_names() -> tuple[str, ...]:
    return ("io",)


def mean_concurrency(stamps: list[tuple[float, float]]) -> float:
    """How many of these (started, ended) intervals were open on average, from the first start to the last end."""
    span = max(end for _, end in stamps) - min(start for start, _ in stamps)
    return sum(end - start for start, end in stamps) / span


def test_mean_concurrency_is_busy_time_over_the_span():
    assert mean_concurrency([(0, 2), (0, 2)]) == 2
    assert mean_concurrency([(0, 1), (1, 2), (0, 2)]) == 2
    assert mean_concurrency([(0, 1), (3, 4)]) == 0.5


def test_a_long_llm_queue_runs_as_many_tasks_at_once_as_worker_io_has_greenlets(celery_workers, tmp_path: Path):
    stamps_file = tmp_path / "stamps.txt"
    total = 4 * IO_TEST_CONCURRENCY
    for _ in range(total):
        celery_workers.app.send_task("llm.sample_nap", args=[str(stamps_file), NAP_S])

    def stamps() -> list[tuple[float, float]]:
        lines = stamps_file.read_text().splitlines() if stamps_file.exists() else []
        return [(float(a), float(b)) for a, b in (line.split() for line in lines)]

    wait_for(lambda: len(stamps()) >= total, timeout=60, what=f"{total} naps")
    # With one message in hand per greenlet (prefetch multiplier 1) the worker stopped fetching whenever all were
    # busy and came back only after kombu's poll timeout: 6 of its 20 greenlets were busy on average, against 19.5.
    assert mean_concurrency(stamps()) >= IO_TEST_CONCURRENCY * 0.75

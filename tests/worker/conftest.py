"""Worker tests: real Redis, real workers loading tests/worker/sample_tasks.py."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from backend.db.session import fetch_all, session_scope

SAMPLE_TASKS = "tests.worker.sample_tasks"


@pytest.fixture
def celery_worker_includes() -> tuple[str, ...]:
    return (SAMPLE_TASKS,)


@pytest.fixture
def celery_worker_names() -> tuple[str, ...]:
    return ("db",)  # sample.* and maintenance.* tasks run on worker-db; starting one worker is faster


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def failed_rows(engine) -> list[dict[str, Any]]:
    with session_scope(engine) as conn:
        return fetch_all(conn, "SELECT * FROM failed_tasks ORDER BY id")


def runs(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def barrier(workers, tmp_path: Path, name: str = "barrier") -> None:
    """Wait until worker-db's single process has finished what it was running (hooks included)."""
    marker = tmp_path / f"{name}-{time.monotonic_ns()}"
    workers.app.send_task("sample.touch", args=[str(marker)])
    wait_for(marker.exists, what=f"{name} task")

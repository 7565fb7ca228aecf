"""ChatStatsTask on real workers: transient errors retry with backoff, others land in failed_tasks."""

from __future__ import annotations

import json
from pathlib import Path

from tests.worker.conftest import barrier, failed_rows, runs, wait_for


def test_transient_failures_retry_until_success_and_leave_no_ledger_row(celery_workers, migrated_engine,
                                                                         tmp_path: Path) -> None:
    runs_file = tmp_path / "flaky.runs"
    celery_workers.app.send_task("sample.flaky", args=[str(runs_file), 2])
    wait_for(lambda: len(runs(runs_file)) >= 3, what="three runs")
    barrier(celery_workers, tmp_path)
    assert len(runs(runs_file)) == 3
    assert failed_rows(migrated_engine) == []


def test_exhausted_retries_and_permanent_errors_are_recorded(celery_workers, migrated_engine,
                                                             tmp_path: Path) -> None:
    flaky_runs = tmp_path / "always.runs"
    missing = tmp_path / "missing.txt"
    needs_runs = tmp_path / "needs.runs"
    celery_workers.app.send_task("sample.flaky", args=[str(flaky_runs), 100])
    celery_workers.app.send_task("sample.needs_file", args=[str(missing), str(needs_runs)])
    rows = wait_for(lambda: len(failed_rows(migrated_engine)) == 2 and failed_rows(migrated_engine),
                    what="two failed_tasks rows")
    by_name = {row["task_name"]: row for row in rows}

    flaky = by_name["sample.flaky"]
    assert len(runs(flaky_runs)) == 6  # the first run and max_retries=5 retries
    assert flaky["reason"] == "TransientError: flaky run 6 of 100 failing"
    assert json.loads(flaky["args"]) == [str(flaky_runs), 100]
    assert json.loads(flaky["kwargs"]) == {}

    needs = by_name["sample.needs_file"]
    assert len(runs(needs_runs)) == 1  # not transient: no retry
    assert needs["reason"].startswith("FileNotFoundError: ") and str(missing) in needs["reason"]
    assert json.loads(needs["args"]) == [str(missing), str(needs_runs)]
    for row in rows:
        assert row["status"] == "pending" and row["attempts"] == 1 and row["queue"] == "db"
        assert row["first_failed_at"] == row["last_failed_at"]
        assert row["next_retry_at"] >= row["last_failed_at"] + 30_000  # replay backoff starts near a minute

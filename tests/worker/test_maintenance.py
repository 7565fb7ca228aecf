"""maintenance.* on a real worker: replay of failed tasks until resolved, the beat heartbeat, ping_db."""

from __future__ import annotations

from pathlib import Path

from backend.db import migrate
from backend.db.session import execute_write
from backend.worker.celery_app import app as celery_app
from backend.worker.maintenance import BEAT_KEY, BEAT_SCHEDULE, ping_db
from tests.worker.conftest import barrier, failed_rows, runs, wait_for


def make_due(engine) -> None:
    execute_write("UPDATE failed_tasks SET next_retry_at = 0 WHERE status = 'pending'", engine=engine)


def test_replay_retries_with_backoff_and_resolves_once_the_cause_is_fixed(celery_workers, migrated_engine,
                                                                        tmp_path: Path) -> None:
    needed = tmp_path / "needed.txt"
    needs_runs = tmp_path / "needs.runs"
    celery_workers.app.send_task("sample.needs_file", args=[str(needed), str(needs_runs)])
    [row] = wait_for(lambda: failed_rows(migrated_engine), what="the failure")
    assert (row["status"], row["attempts"]) == ("pending", 1)

    # not due yet: replay leaves it alone
    celery_workers.app.send_task("maintenance.replay_failed_tasks")
    barrier(celery_workers, tmp_path)
    assert failed_rows(migrated_engine) == [row]
    assert len(runs(needs_runs)) == 1

    # due, cause not fixed: replayed, fails again, attempts 2, backed off further
    make_due(migrated_engine)
    celery_workers.app.send_task("maintenance.replay_failed_tasks")
    [again] = wait_for(lambda: [r for r in failed_rows(migrated_engine) if r["attempts"] == 2], what="attempt 2")
    assert again["status"] == "pending" and len(runs(needs_runs)) == 2
    assert again["next_retry_at"] - again["last_failed_at"] >= 60_000  # 2nd backoff: 1-2 minutes

    # due, cause fixed: replayed, succeeds, resolved
    needed.write_text("here now")
    make_due(migrated_engine)
    celery_workers.app.send_task("maintenance.replay_failed_tasks")
    [resolved] = wait_for(lambda: [r for r in failed_rows(migrated_engine) if r["status"] == "resolved"],
                          what="resolved")
    assert resolved["id"] == row["id"] and resolved["attempts"] == 2 and resolved["next_retry_at"] is None
    assert len(runs(needs_runs)) == 3


def test_replay_abandons_rows_out_of_attempts(celery_workers, migrated_engine, tmp_path: Path) -> None:
    needs_runs = tmp_path / "needs.runs"
    celery_workers.app.send_task("sample.needs_file", args=[str(tmp_path / "never"), str(needs_runs)])
    wait_for(lambda: failed_rows(migrated_engine), what="the failure")
    execute_write("UPDATE failed_tasks SET attempts = 8, next_retry_at = 0", engine=migrated_engine)
    celery_workers.app.send_task("maintenance.replay_failed_tasks")
    [row] = wait_for(lambda: [r for r in failed_rows(migrated_engine) if r["status"] == "abandoned"],
                     what="abandoned")
    barrier(celery_workers, tmp_path)
    assert row["attempts"] == 8 and len(runs(needs_runs)) == 1  # not sent again


def test_heartbeat_sets_the_beat_key_with_a_ttl(celery_workers, redis_server) -> None:
    client = redis_server.client()
    assert client.get(BEAT_KEY) is None
    celery_workers.app.send_task("maintenance.heartbeat")
    value = wait_for(lambda: client.get(BEAT_KEY), what="the heartbeat key")
    assert int(value) > 1_700_000_000_000  # unix ms
    assert 0 < client.ttl(BEAT_KEY) <= 60
    assert {entry["task"] for entry in BEAT_SCHEDULE.values()} == {"maintenance.replay_failed_tasks",
                                                                   "maintenance.heartbeat"}
    assert celery_app.conf.beat_schedule["heartbeat"]["schedule"] == 10.0  # the app beat runs
    assert celery_app.conf.beat_schedule["replay-failed-tasks"]["schedule"] == 30.0


def test_ping_db_returns_the_revision(migrated_engine) -> None:
    assert ping_db.apply().get() == migrate.head_revision()

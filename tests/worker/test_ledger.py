"""The failed-tasks ledger and the transient-error rules, without workers."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
import redis
from sqlalchemy.exc import OperationalError as SAOperationalError

from backend.db.session import execute_write
from backend.worker import failures
from backend.worker.tasks_base import TransientError, backoff_s, is_transient
from tests.worker import sample_tasks
from tests.worker.conftest import failed_rows


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (TransientError("x"), True),
        (sqlite3.OperationalError("database is locked"), True),
        (SAOperationalError("UPDATE t", {}, sqlite3.OperationalError("database is locked")), True),
        (redis.ConnectionError("gone"), True),
        (redis.TimeoutError("slow"), True),
        (TimeoutError(), True),
        (ConnectionResetError(), True),
        (sqlite3.OperationalError("no such table: t"), False),
        (SAOperationalError("SELECT", {}, sqlite3.OperationalError("no such column: x")), False),
        (FileNotFoundError("x"), False),
        (ValueError("x"), False),
        (KeyError("x"), False),
    ],
)
def test_is_transient(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_backoff_grows_with_jitter_and_caps() -> None:
    for retries in range(6):
        delay = backoff_s(retries, base_s=1.0, max_s=20.0)
        full = min(20.0, 2.0**retries)
        assert full / 2 <= delay <= full
    assert len({backoff_s(3, base_s=1.0, max_s=60.0) for _ in range(20)}) > 1


def record(engine, exc: BaseException = ValueError("bad"), args=(1, "a")) -> dict:  # noqa: B008 - an exception value, never mutated
    return failures.record_failure(task_id="tid", task_name="sample.x", queue="db", args=list(args),
                                   kwargs={"b": 2, "a": 1}, exc=exc, engine=engine)


def test_record_failure_upserts_one_row_per_work_item(migrated_engine) -> None:
    first = record(migrated_engine)
    assert (first["attempts"], first["status"], first["reason"]) == (1, "pending", "ValueError: bad")
    assert (first["args"], first["kwargs"]) == ('[1,"a"]', '{"a":1,"b":2}')  # canonical JSON
    assert 30_000 <= first["next_retry_at"] - first["last_failed_at"] <= 60_000

    second = record(migrated_engine, KeyError("k"))
    assert second["id"] == first["id"] and second["attempts"] == 2 and second["reason"] == "KeyError: 'k'"
    assert second["first_failed_at"] == first["first_failed_at"]
    assert 60_000 <= second["next_retry_at"] - second["last_failed_at"] <= 120_000

    other = record(migrated_engine, args=(2, "a"))
    assert other["id"] != first["id"] and other["attempts"] == 1

    assert failures.resolve_if_failed(task_name="sample.x", args=[1, "a"], kwargs={"a": 1, "b": 2},
                                      engine=migrated_engine)
    assert not failures.resolve_if_failed(task_name="sample.x", args=[1, "a"], kwargs={"a": 1, "b": 2},
                                          engine=migrated_engine)
    again = record(migrated_engine)  # the same work failing after it was resolved starts over
    assert (again["id"], again["attempts"], again["status"]) == (first["id"], 1, "pending")


def test_the_eighth_failure_abandons(migrated_engine) -> None:
    for _ in range(failures.MAX_ATTEMPTS - 1):
        row = record(migrated_engine)
    assert (row["attempts"], row["status"]) == (7, "pending")
    row = record(migrated_engine)
    assert (row["attempts"], row["status"], row["next_retry_at"]) == (8, "abandoned", None)


def test_replay_due_sends_due_rows_and_re_sends_lapsed_replays(migrated_engine) -> None:
    due, later, lapsed = (record(migrated_engine, args=(n,)) for n in (1, 2, 3))
    execute_write("UPDATE failed_tasks SET next_retry_at = 0 WHERE id IN (:a, :b)",
                  {"a": due["id"], "b": lapsed["id"]}, engine=migrated_engine)
    execute_write("UPDATE failed_tasks SET status = 'replaying' WHERE id = :id", {"id": lapsed["id"]},
                  engine=migrated_engine)
    sent: list[tuple] = []
    counts = failures.replay_due(lambda name, args, kwargs: sent.append((name, args, kwargs)),
                                 engine=migrated_engine)
    assert counts == {"replayed": 2, "abandoned": 0}
    assert sorted(sent) == [("sample.x", [1], {"a": 1, "b": 2}), ("sample.x", [3], {"a": 1, "b": 2})]
    rows = {row["id"]: row for row in failed_rows(migrated_engine)}
    assert rows[due["id"]]["status"] == "replaying" and rows[due["id"]]["attempts"] == 1
    assert rows[lapsed["id"]]["attempts"] == 2  # its lost replay counts as an attempt
    assert rows[due["id"]]["next_retry_at"] >= rows[due["id"]]["last_failed_at"] + failures.REPLAY_LEASE_MS
    assert rows[later["id"]]["status"] == "pending"
    # nothing more is due now: the replays hold a lease
    assert failures.replay_due(lambda *a: sent.append(a), engine=migrated_engine)["replayed"] == 0


def test_replay_send_failure_puts_the_row_back_to_pending(migrated_engine) -> None:
    row = record(migrated_engine)
    execute_write("UPDATE failed_tasks SET next_retry_at = 0", engine=migrated_engine)

    def broken(*_args: object) -> None:
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        failures.replay_due(broken, engine=migrated_engine)
    [after] = failed_rows(migrated_engine)
    assert (after["id"], after["status"], after["attempts"]) == (row["id"], "pending", 1)
    assert after["next_retry_at"] > 0


def test_failure_hook_never_raises(isolated_data_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    """central.db without the failed_tasks table: the hook logs and returns."""
    with caplog.at_level(logging.ERROR):
        assert sample_tasks.needs_file.on_failure(ValueError("x"), "tid", ["p", "r"], {}, None) is None
        assert sample_tasks.needs_file.on_success(None, "tid", ["p", "r"], {}) is None
    assert "could not be recorded in failed_tasks" in caplog.text
    assert "could not be resolved" in caplog.text


def test_a_direct_call_raises_without_retrying(tmp_path: Path) -> None:
    runs_file = tmp_path / "runs"
    with pytest.raises(TransientError):
        sample_tasks.flaky(str(runs_file), 1)
    assert runs_file.read_text().count("\n") == 1
    assert sample_tasks.flaky(str(runs_file), 1) == 2



def test_a_permanent_failure_is_abandoned_at_once_with_its_reason_and_never_replayed(migrated_engine) -> None:
    from backend.conversations.exceptions import ConversationNotFound
    from backend.worker.tasks_base import is_permanent

    gone = ConversationNotFound("Conversation 41 does not exist (deleted or re-imported?).")
    assert is_permanent(gone) and not is_transient(gone)
    assert not is_permanent(TransientError("later")) and not is_permanent(ValueError("bug"))
    row = failures.record_failure(task_id="tid", task_name="sample.x", queue="io", args=[41], kwargs={},
                                  exc=gone, engine=migrated_engine, permanent=is_permanent(gone))
    assert (row["attempts"], row["status"], row["next_retry_at"]) == (1, "abandoned", None)
    assert row["reason"] == "ConversationNotFound: Conversation 41 does not exist (deleted or re-imported?)."
    sent: list = []
    failures.replay_due(lambda *task: sent.append(task), engine=migrated_engine)
    assert sent == []


def test_the_broker_pool_is_sized_for_the_workers_concurrency() -> None:
    from celery import Celery

    from backend.worker.celery_app import POOL_HEADROOM, size_broker_pool

    conf = Celery("sizing", broker="memory://").conf
    conf.broker_transport_options = {"visibility_timeout": 600}
    size_broker_pool(conf, 100)  # worker-io: gevent -c 100
    assert conf.broker_pool_limit == 100 + POOL_HEADROOM
    assert conf.broker_transport_options == {"visibility_timeout": 600, "max_connections": 100 + POOL_HEADROOM}

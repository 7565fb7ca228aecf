"""A permanent error met by a task on a real worker: in failed_tasks at once with its reason, abandoned, never
retried nor replayed, where a plain failure beside it is replayed (issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

from backend.db.session import execute, write_transaction
from tests.worker.conftest import barrier, failed_rows, runs, wait_for


def test_a_permanent_error_is_recorded_at_once_and_never_run_again(celery_workers, migrated_engine,
                                                                   tmp_path: Path) -> None:
    gone_runs, needs_runs = tmp_path / "gone.runs", tmp_path / "needs.runs"
    missing = tmp_path / "missing.txt"
    celery_workers.app.send_task("sample.open_conversation", args=[987654, str(gone_runs)])
    celery_workers.app.send_task("sample.needs_file", args=[str(missing), str(needs_runs)])
    rows = wait_for(lambda: len(failed_rows(migrated_engine)) == 2 and failed_rows(migrated_engine),
                    what="two failed_tasks rows")
    by_name = {row["task_name"]: row for row in rows}
    gone = by_name["sample.open_conversation"]
    assert gone["reason"] == ("ConversationNotFound: Conversation 987654 does not exist "
                              "(deleted or re-imported?).")
    assert json.loads(gone["args"]) == [987654, str(gone_runs)]
    assert (gone["attempts"], gone["status"], gone["next_retry_at"]) == (1, "abandoned", None)
    assert by_name["sample.needs_file"]["status"] == "pending"  # not transient, not permanent: replayed later
    barrier(celery_workers, tmp_path)  # anything the worker still had queued (a retry) has run
    assert len(runs(gone_runs)) == 1

    # make every row due now and replay: only the plain failure is sent again
    with write_transaction(migrated_engine) as conn:
        execute(conn, "UPDATE failed_tasks SET next_retry_at = 0")
    celery_workers.app.send_task("maintenance.replay_failed_tasks")
    wait_for(lambda: len(runs(needs_runs)) >= 2, what="the plain failure's replay")
    barrier(celery_workers, tmp_path, "after-replay")
    assert len(runs(gone_runs)) == 1
    gone_after = {row["task_name"]: row for row in failed_rows(migrated_engine)}["sample.open_conversation"]
    assert (gone_after["attempts"], gone_after["status"]) == (1, "abandoned")

"""Real redis-server and real Celery workers: a ready conversation's batch passes run once, through both stages."""

from __future__ import annotations

import time

from tests.analysis.helpers import busiest_conversation, db, plant_message
from tests.waiting import wait_until


def _wait(predicate, timeout: float = 40.0, what: str = "condition"):
    return wait_until(predicate, timeout=timeout, what=what, interval=0.1)


def test_ready_conversation_runs_every_batch_pass_once_through_llm_and_persist(
        imported, redis_server, celery_workers):
    conversation_id = busiest_conversation()
    message_id, _ = plant_message(conversation_id, "I'll send you the report tomorrow")
    conn = db()
    with conn:
        conn.execute("UPDATE conversations SET state = 'ready' WHERE id = ?", (conversation_id,))
    revision = conn.execute("SELECT revision FROM conversations WHERE id = ?", (conversation_id,)).fetchone()[0]

    celery_workers.app.send_task("analysis.enqueue_batch_passes", args=[conversation_id, revision])

    def all_done():
        rows = db().execute("SELECT pass_name, status, attempts FROM analysis_jobs WHERE conversation_id = ?",
                            (conversation_id,)).fetchall()
        return rows if len(rows) == 3 and all(r["status"] == "done" for r in rows) else None

    jobs = _wait(all_done, what="every batch pass done\n" + "")
    assert {r["pass_name"] for r in jobs} == {"basic", "commitments", "conversation_stats"}

    # redelivery of the enqueue changes nothing
    celery_workers.app.send_task("analysis.enqueue_batch_passes", args=[conversation_id, revision])
    time.sleep(1.5)
    jobs = db().execute("SELECT attempts FROM analysis_jobs WHERE conversation_id = ?", (conversation_id,)).fetchall()
    assert [r["attempts"] for r in jobs] == [1, 1, 1]
    analyses = db().execute("SELECT pass_name, model FROM conversation_analyses WHERE conversation_id = ? "
                            "ORDER BY pass_name", (conversation_id,)).fetchall()
    assert [tuple(r) for r in analyses] == [("basic", "chatstats/offline"), ("commitments", "chatstats/offline")]
    assert db().execute("SELECT count(*) FROM topics WHERE conversation_id = ?", (conversation_id,)).fetchone()[0] > 0
    [commitment] = db().execute("SELECT id, text FROM commitments WHERE message_id = ?", (message_id,)).fetchall()
    assert "report" in commitment["text"]
    assert db().execute("SELECT count(*) FROM commitment_events WHERE commitment_id = ?",
                        (commitment["id"],)).fetchone()[0] == 1
    calls = db().execute("SELECT prompt_id, count(*) FROM llm_calls WHERE status = 'ok' AND purpose NOT LIKE 'search.%' "
                         "GROUP BY prompt_id").fetchall()
    assert dict(calls) == {"convo-all-v1": 1, "commitment-extraction-v1": 1}

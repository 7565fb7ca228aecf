"""A later conversation that keeps or withdraws an open commitment closes it (offline model, both stages)."""

from __future__ import annotations

import json

from backend.analysis import jobs, passes, persist
from backend.db.engine import get_engine
from tests.analysis.helpers import db, plant_message


def _two_conversations() -> tuple[int, int]:
    """An earlier and a later conversation of the same chat (both with messages)."""
    row = db().execute("""
        SELECT a.id, b.id FROM conversations a JOIN conversations b
          ON b.chat_id = a.chat_id AND b.started_at > a.last_message_at
        WHERE a.message_count > 2 AND b.message_count > 2
        ORDER BY a.chat_id, a.started_at, b.started_at LIMIT 1
    """).fetchone()
    return row[0], row[1]


def _analyse_commitments(conversation_id: int) -> dict:
    engine = get_engine()
    revision = db().execute("SELECT revision FROM conversations WHERE id = ?", (conversation_id,)).fetchone()[0]
    jobs.ensure_batch_jobs(engine, conversation_id=conversation_id, revision=revision)
    job_id = db().execute("SELECT id FROM analysis_jobs WHERE conversation_id = ? AND pass_name = 'commitments'",
                          (conversation_id,)).fetchone()[0]
    assert jobs.run_job(engine, job_id) == "needs_llm"
    payload = passes.call_llm(engine, job_id)
    assert persist.persist_result(engine, job_id, payload)
    return json.loads(db().execute("SELECT result FROM analysis_jobs WHERE id = ?", (job_id,)).fetchone()[0])


def test_a_later_sent_closes_the_open_promise_and_a_later_cant_make_it_cancels_one(imported):
    earlier, later = _two_conversations()
    promise_id, _ = plant_message(earlier, "I'll send you the quarterly report tomorrow.")
    lift_id, _ = plant_message(earlier, "I will pick you up from the airport on Friday.")
    _analyse_commitments(earlier)
    planted = {r["message_id"]: dict(r) for r in db().execute(
        "SELECT id, message_id, status FROM commitments WHERE message_id IN (?, ?)", (promise_id, lift_id))}
    assert set(planted) == {promise_id, lift_id} and {r["status"] for r in planted.values()} == {"active"}

    sent_id, _ = plant_message(later, "Sent you the quarterly report!")
    cant_id, _ = plant_message(later, "Sorry, I can't make it to pick you up from the airport on Friday after all.")
    result = _analyse_commitments(later)
    assert result["counts"]["reconciled"]["completed"] >= 1 and result["counts"]["reconciled"]["cancelled"] >= 1

    status = {r["message_id"]: r["status"] for r in db().execute(
        "SELECT message_id, status FROM commitments WHERE message_id IN (?, ?)", (promise_id, lift_id))}
    assert status == {promise_id: "complete", lift_id: "cancelled"}
    events = {r["commitment_id"]: (r["event"], json.loads(r["details"])) for r in db().execute(
        "SELECT commitment_id, event, details FROM commitment_events WHERE event IN ('completed', 'cancelled')")}
    done_event, done_details = events[planted[promise_id]["id"]]
    assert done_event == "completed" and done_details["source"] == "reconciliation"
    assert done_details["evidence_message_id"] == sent_id
    assert events[planted[lift_id]["id"]][1]["evidence_message_id"] == cant_id
    calls = [r[0] for r in db().execute("SELECT prompt_id FROM llm_calls ORDER BY id")]
    assert calls.count("commitment-reconciliation-v1") == 1  # asked once, for the later conversation only

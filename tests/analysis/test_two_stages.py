"""The two stages called directly (the services the Celery tasks wrap), with the offline model."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from backend.analysis import jobs, passes, persist, results_repo
from backend.db.engine import get_engine
from backend.db.session import run_write
from backend.settings import repo as settings_repo
from tests.analysis.helpers import busiest_conversation, db, plant_message

FINDINGS = ("entities", "topics", "emotions", "humor_items")


def _run_all(engine, job_ids: list[int]) -> dict[str, str]:
    steps = {}
    for job_id in job_ids:
        step = jobs.run_job(engine, job_id)
        if step == "needs_llm":
            payload = passes.call_llm(engine, job_id)
            assert persist.persist_result(engine, job_id, payload) is True
        steps[db().execute("SELECT pass_name FROM analysis_jobs WHERE id = ?", (job_id,)).fetchone()[0]] = step
    return steps


def _rows(table: str, conversation_id: int) -> list[dict]:
    """Rows without their own ids (re-inserted rows get new ones), in a stable order."""
    rows = [dict(r) for r in db().execute(f"SELECT * FROM {table} WHERE conversation_id = ?", (conversation_id,))]
    return sorted(json.dumps({k: v for k, v in r.items() if k != "id"}, sort_keys=True) for r in rows)


def _snapshot(conversation_id: int) -> dict:
    snap = {t: _rows(t, conversation_id) for t in (*FINDINGS, "commitments")}
    snap["analyses"] = [dict(r) for r in db().execute(
        "SELECT id, pass_name, summary, result, model FROM conversation_analyses WHERE conversation_id = ? "
        "ORDER BY pass_name", (conversation_id,))]
    snap["events"] = [tuple(r) for r in db().execute("SELECT commitment_id, event FROM commitment_events ORDER BY id")]
    return snap


def _new_job(engine, conversation_id: int, pass_name: str, revision: int) -> int:
    from backend.analysis import repo

    [job_id] = run_write(lambda conn: repo.ensure_jobs(conn, conversation_id=conversation_id, revision=revision,
                                                       passes=[(pass_name, "1")], now_ms=1), engine=engine)
    return job_id


def test_offline_model_end_to_end_persists_analysis_topics_emotions_and_a_planted_commitment(imported):
    engine = get_engine()
    conversation_id = busiest_conversation()
    message_id, sent_at = plant_message(conversation_id, "I'll send you the report tomorrow")
    revision = db().execute("SELECT revision FROM conversations WHERE id = ?", (conversation_id,)).fetchone()[0]

    created = jobs.ensure_batch_jobs(engine, conversation_id=conversation_id, revision=revision)
    steps = _run_all(engine, created)

    assert steps == {"basic": "needs_llm", "commitments": "needs_llm", "conversation_stats": "done"}
    assert {r["status"] for r in db().execute("SELECT status FROM analysis_jobs")} == {"done"}
    basic = db().execute("SELECT * FROM conversation_analyses WHERE conversation_id = ? AND pass_name = 'basic'",
                         (conversation_id,)).fetchone()
    assert basic["model"] == "chatstats/offline" and basic["prompt_id"] == "convo-all-v1"
    assert basic["summary"] and basic["revision"] == revision and json.loads(basic["result"])["participants"]
    topics = db().execute("SELECT topic, weight, participant FROM topics WHERE analysis_id = ?",
                          (basic["id"],)).fetchall()
    assert topics and any(t["participant"] is None and t["weight"] == 1.0 for t in topics)
    emotions = db().execute("SELECT emotion, score FROM emotions WHERE conversation_id = ?",
                            (conversation_id,)).fetchall()
    assert emotions and all(0 < e["score"] <= 1 for e in emotions)

    [commitment] = db().execute("SELECT * FROM commitments WHERE message_id = ?", (message_id,)).fetchall()
    assert "send you the report" in commitment["text"] and commitment["is_from_me"] == 1
    assert commitment["committed_by"] == "Me" and commitment["status"] == "active"
    said = datetime.fromtimestamp(sent_at / 1000, tz=UTC).astimezone()
    due = datetime.fromtimestamp(commitment["due_at"] / 1000, tz=UTC).astimezone(said.tzinfo)
    assert due.date() == (said + timedelta(days=1)).date()
    assert [tuple(r) for r in db().execute("SELECT commitment_id, event FROM commitment_events")] == [
        (commitment["id"], "created")]

    # the same jobs again do nothing
    assert _run_all(engine, created) == {"basic": "skipped", "commitments": "skipped", "conversation_stats": "skipped"}


def test_persisting_twice_leaves_the_same_rows_and_a_new_result_replaces_them_atomically(imported, monkeypatch):
    engine = get_engine()
    conversation_id = busiest_conversation()
    plant_message(conversation_id, "I'll call the landlord on Friday")
    basic_job = _new_job(engine, conversation_id, "basic", 1)
    commit_job = _new_job(engine, conversation_id, "commitments", 1)
    basic_payload = passes.call_llm(engine, basic_job)
    commit_payload = passes.call_llm(engine, commit_job)
    assert persist.persist_result(engine, basic_job, basic_payload) is True
    assert persist.persist_result(engine, commit_job, commit_payload) is True
    first = _snapshot(conversation_id)
    assert first["topics"] and first["commitments"] and len(first["events"]) == len(first["commitments"])

    # a redelivered persist, and the same result under a later job, leave the same rows
    assert persist.persist_result(engine, basic_job, basic_payload) is False
    again_basic, again_commit = _new_job(engine, conversation_id, "basic", 2), _new_job(engine, conversation_id,
                                                                                         "commitments", 2)
    assert persist.persist_result(engine, again_basic, basic_payload) is True
    assert persist.persist_result(engine, again_commit, commit_payload) is True
    second = _snapshot(conversation_id)
    for key in ("analyses", "events", *FINDINGS):
        assert second[key] == first[key], key
    strip = [json.loads(r) for r in second["commitments"]]
    assert [{k: v for k, v in r.items() if k != "updated_at"} for r in strip] == [
        {k: v for k, v in json.loads(r).items() if k != "updated_at"} for r in first["commitments"]]

    # a write that fails half-way leaves the previous result whole, and the job not done
    changed = {**basic_payload, "data": {**basic_payload["data"], "topics": ["a brand new topic"]}}
    failing = _new_job(engine, conversation_id, "basic", 3)
    real = results_repo.create_findings

    def broken(conn, *, table, **kw):
        if table == "emotions":
            raise RuntimeError("disk on fire")
        return real(conn, table=table, **kw)

    monkeypatch.setattr(results_repo, "create_findings", broken)
    with pytest.raises(RuntimeError):
        persist.persist_result(engine, failing, changed)
    assert _snapshot(conversation_id)["topics"] == first["topics"]
    assert db().execute("SELECT status FROM analysis_jobs WHERE id = ?", (failing,)).fetchone()[0] == "queued"
    monkeypatch.setattr(results_repo, "create_findings", real)

    # then it succeeds: the conversation's topics are exactly the new ones
    assert persist.persist_result(engine, failing, changed) is True
    topics = db().execute("SELECT topic, participant FROM topics WHERE conversation_id = ? AND participant IS NULL",
                          (conversation_id,)).fetchall()
    assert [t["topic"] for t in topics] == ["a brand new topic"]
    assert _rows("entities", conversation_id) == first["entities"]

    # a result of an older revision, arriving late, changes nothing
    late = _new_job(engine, conversation_id, "basic", 0)
    assert persist.persist_result(engine, late, basic_payload) is True
    assert [t["topic"] for t in db().execute(
        "SELECT topic FROM topics WHERE conversation_id = ? AND participant IS NULL", (conversation_id,))] == [
        "a brand new topic"]

    # a moved due date updates the commitment (one 'updated' event), never duplicates it
    item = commit_payload["data"]["commitments"][0]
    moved = {**commit_payload, "data": {"commitments": [{**item, "due_at": "2031-01-02T10:00:00+00:00"}]}}
    assert persist.persist_result(engine, _new_job(engine, conversation_id, "commitments", 4), moved) is True
    events = [r["event"] for r in db().execute("SELECT event FROM commitment_events ORDER BY id")]
    assert events.count("updated") == 1 and len(_rows("commitments", conversation_id)) == len(first["commitments"])


def test_a_disabled_pass_gets_no_jobs(imported):
    engine = get_engine()
    run_write(lambda conn: settings_repo.update(conn, key="analysis.passes.basic.enabled", value=False), engine=engine)
    conversation_id = busiest_conversation()
    jobs.ensure_batch_jobs(engine, conversation_id=conversation_id, revision=1)
    names = {r[0] for r in db().execute("SELECT pass_name FROM analysis_jobs WHERE conversation_id = ?",
                                        (conversation_id,))}
    assert names == {"commitments", "conversation_stats"}


def test_a_written_result_announces_itself_in_the_outbox_and_a_failed_or_repeated_one_does_not(imported,
                                                                                                 monkeypatch):
    engine = get_engine()
    conversation_id = busiest_conversation()

    def job_done_events() -> list[dict]:
        return [json.loads(r[0]) for r in db().execute(
            "SELECT payload FROM event_outbox WHERE name = 'analysis.job_done' ORDER BY id")]

    job = _new_job(engine, conversation_id, "basic", 1)
    payload = passes.call_llm(engine, job)
    assert persist.persist_result(engine, job, payload) is True
    assert job_done_events() == [{"job_id": job, "conversation_id": conversation_id, "pass_name": "basic"}]
    assert persist.persist_result(engine, job, payload) is False  # redelivered: nothing new to announce
    assert len(job_done_events()) == 1

    failing = _new_job(engine, conversation_id, "basic", 2)
    monkeypatch.setattr(results_repo, "delete_findings", lambda conn, **kw: (_ for _ in ()).throw(RuntimeError("x")))
    with pytest.raises(RuntimeError):
        persist.persist_result(engine, failing, payload)
    assert len(job_done_events()) == 1  # the event shares the result's transaction: rolled back with it

"""Real workers against a flaky provider: 20 conversations analysed through 429s (with Retry-After), 500s,
hung requests and malformed JSON. Every job ends done or with its task in failed_tasks (and a reason); a
replay after the faults stop finishes the rest, and nothing is analysed (or paid for) twice."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.analysis.helpers import db, plant_message
from tests.analysis_faults.provider import schema_responder
from tests.fakes.openai_server import FakeOpenAI, FaultMix

CONVERSATIONS = 20
POISON = "zebra-poison-marker"  # conversations holding this text get malformed JSON until the faults stop
MODEL_PASSES = {"basic": "convo-all-v1", "commitments": "commitment-extraction-v1"}


class Provider:
    """The fake provider with a switch: faults on (random mix + always-malformed for poisoned prompts) or off."""

    def __init__(self) -> None:
        self.faulty = threading.Event()
        self.faulty.set()
        self.fake = FakeOpenAI(latency_s=0.3, hang_s=2.0, retry_after="1", seed=11, responder=self.respond,
                               faults=FaultMix(rate_limit=0.075, server_error=0.075, hang=0.075, malformed=0.075))

    def respond(self, body: dict[str, Any]) -> str | dict[str, Any]:
        if self.faulty.is_set() and POISON in json.dumps(body.get("messages")):
            return '{"summary": "cut off'
        return schema_responder(body)

    def stop_faults(self) -> None:
        self.faulty.clear()
        self.fake.faults = FaultMix()


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[Provider]:
    """Started (and the model pointed at it) before the workers, which take their env from this process."""
    from backend.config import reset_settings_cache

    provider = Provider()
    provider.fake.start()
    monkeypatch.setenv("CHATSTATS_LLM_MODEL", "openai/fake-model")
    monkeypatch.setenv("CHATSTATS_LLM_API_BASE", provider.fake.url)
    monkeypatch.setenv("CHATSTATS_LLM_API_KEY", "sk-test")
    monkeypatch.setenv("CHATSTATS_LLM_MAX_CONCURRENCY", "20")
    monkeypatch.setenv("CHATSTATS_LLM_REQUESTS_PER_MINUTE", "0")
    reset_settings_cache()
    try:
        yield provider
    finally:
        provider.fake.stop()
        reset_settings_cache()


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    jobs = [(j["id"], j["pass_name"], j["status"], (j["error"] or "")[:80]) for j in _jobs() if j["status"] != "done"]
    ledger = [dict(r) for r in db().execute("SELECT task_name, args, status, attempts, reason FROM failed_tasks")]
    raise AssertionError(f"timed out waiting for {what}; jobs not done: {jobs}; failed_tasks: {ledger}")


def _jobs() -> list[dict[str, Any]]:
    return [dict(r) for r in db().execute("SELECT * FROM analysis_jobs ORDER BY id")]


def _open_failures() -> dict[int, dict[str, Any]]:
    """failed_tasks rows of llm.call_llm still open, by job id."""
    rows = db().execute("SELECT * FROM failed_tasks WHERE task_name = 'llm.call_llm' "
                        "AND status IN ('pending', 'replaying')").fetchall()
    return {json.loads(r["args"])[0]: dict(r) for r in rows}


def _settled() -> list[dict[str, Any]] | None:
    """Every job done, or failed with its call_llm task recorded in failed_tasks."""
    jobs = _jobs()
    failures = _open_failures()
    if len(jobs) != CONVERSATIONS * 3:
        return None
    if all(j["status"] == "done" or (j["status"] == "failed" and j["id"] in failures) for j in jobs):
        return jobs
    return None


def test_fault_mix_every_job_done_or_recorded_then_replay_finishes_without_double_analysis(
        imported, provider, redis_server, celery_workers):
    from backend.admin.service import retry_failed_task
    from backend.db.engine import get_engine

    conn = db()
    conversations = [r[0] for r in conn.execute(
        "SELECT id FROM conversations WHERE message_count >= 2 ORDER BY id LIMIT ?", (CONVERSATIONS,))]
    assert len(conversations) == CONVERSATIONS
    poisoned = conversations[:2]
    for conversation_id in poisoned:
        plant_message(conversation_id, f"remember the {POISON} thing")
    with conn:
        conn.executemany("UPDATE conversations SET state = 'ready' WHERE id = ?", [(c,) for c in conversations])
    for conversation_id in conversations:
        celery_workers.app.send_task("analysis.enqueue_batch_passes", args=[conversation_id, 1])

    jobs = _wait(_settled, 150, "every job done or recorded in failed_tasks")
    failed = [j for j in jobs if j["status"] == "failed"]
    failures = _open_failures()
    # the poisoned conversations' model passes failed for good, with the reason on the job and the ledger
    assert {(j["conversation_id"], j["pass_name"]) for j in failed} >= {
        (c, p) for c in poisoned for p in MODEL_PASSES}
    for job in failed:
        assert "LLMInvalidOutput" in failures[job["id"]]["reason"] or "Model" in failures[job["id"]]["reason"]
        assert job["error"]
    outcomes = provider.fake.outcomes
    assert outcomes["429"] > 0 and outcomes["500"] > 0 and outcomes["hang"] > 0 and outcomes["malformed"] > 0

    provider.stop_faults()
    engine = get_engine()
    for _job_id, row in failures.items():
        retry_failed_task(engine, row["id"], redis_url=redis_server.url)

    def all_done():
        jobs = _jobs()
        return jobs if all(j["status"] == "done" for j in jobs) and not _open_failures() else None

    jobs = _wait(all_done, 90, "the replayed jobs done")
    assert all(j["attempts"] == 1 for j in jobs)  # run_job started each job once; only call_llm was replayed

    conn = db()
    analyses = conn.execute("SELECT conversation_id, pass_name, count(*) AS n FROM conversation_analyses "
                            "GROUP BY conversation_id, pass_name").fetchall()
    assert {(r["conversation_id"], r["pass_name"]) for r in analyses} == {
        (c, p) for c in conversations for p in MODEL_PASSES}
    assert all(r["n"] == 1 for r in analyses)
    # one successful model call per model job, never two for the same request (the local embeddings of the
    # written analyses, purpose search.*, are logged too)
    ok = conn.execute("SELECT prompt_id, count(*) AS n, count(DISTINCT request_hash) AS hashes FROM llm_calls "
                      "WHERE status = 'ok' AND purpose NOT LIKE 'search.%' GROUP BY prompt_id").fetchall()
    assert {r["prompt_id"]: (r["n"], r["hashes"]) for r in ok} == {
        prompt: (CONVERSATIONS, CONVERSATIONS) for prompt in MODEL_PASSES.values()}
    # every request the provider saw is in the audit log (cache hits are the only rows without one)
    logged = conn.execute("SELECT count(*) FROM llm_calls WHERE status != 'cached' "
                          "AND purpose NOT LIKE 'search.%'").fetchone()[0]
    assert logged == provider.fake.calls["/v1/chat/completions"]
    # each analysis was written once: the persisted job is the analysis row's job
    done_model_jobs = {(j["conversation_id"], j["pass_name"]): j["id"] for j in jobs if j["pass_name"] in MODEL_PASSES}
    stored = {(r["conversation_id"], r["pass_name"]): r["job_id"]
              for r in conn.execute("SELECT conversation_id, pass_name, job_id FROM conversation_analyses")}
    assert stored == done_model_jobs

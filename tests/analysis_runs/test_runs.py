"""Analysis runs over a demo chat: estimate, real Redis and Celery workers, progress events, cancel, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from backend.analysis.runs import service as runs
from backend.analysis.runs.schemas import RunRequest
from backend.api.app import create_app
from backend.config import get_settings, reset_settings_cache
from backend.db.engine import get_engine
from tests.analysis.helpers import db
from tests.waiting import wait_until

TOKEN = "test-token-runs-0123456789"
PROGRESS = "analysis.run_progress"


def _wait(predicate, timeout: float = 40.0, what: str = "condition"):
    return wait_until(predicate, timeout=timeout, what=what, interval=0.1)


def _chat_with_conversations(count: int = 3) -> tuple[int, int]:
    """A demo chat with a few conversations a run covers (sealed, ready or historic): (chat id, how many)."""
    rows = db().execute("""
        SELECT chat_id, count(*) AS n FROM conversations
        WHERE state IN ('sealed', 'ready', 'historic') AND message_count > 0
        GROUP BY chat_id ORDER BY abs(count(*) - ?), chat_id LIMIT 1
    """, (count,)).fetchone()
    return rows["chat_id"], rows["n"]


def _progress_events(url: str, run_id: int) -> list[dict]:
    entries = redis.Redis.from_url(url).xrange("chatstats:events")
    events = [json.loads(fields[b"payload"]) for _, fields in entries if fields[b"name"].decode() == PROGRESS]
    return [e for e in events if e["run_id"] == run_id]


@pytest.fixture
def api(imported, monkeypatch) -> Iterator[TestClient]:
    monkeypatch.setenv("CHATSTATS_LIVE_SYNC", "false")
    reset_settings_cache()
    with TestClient(create_app(get_settings(), token=TOKEN), base_url="http://127.0.0.1:8765",
                    headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


def test_estimate_of_a_chat_counts_tokens_and_costs_nothing_offline(imported):
    chat_id, conversations = _chat_with_conversations()
    estimate = runs.estimate(get_engine(), RunRequest(scope="chat", chat_id=chat_id), model="chatstats/offline")
    assert estimate.conversations == conversations
    assert estimate.prompt_passes == ["basic", "commitments"]
    assert estimate.jobs == conversations * 3 and estimate.calls == conversations * 2
    assert estimate.tokens_in > estimate.calls * 200  # the prompt text alone is hundreds of tokens
    assert estimate.tokens_out == conversations * (runs.TOKENS_OUT_PER_CALL["basic"]
                                                   + runs.TOKENS_OUT_PER_CALL["commitments"])
    assert estimate.cost_usd == 0.0 and estimate.model == "chatstats/offline"
    priced = runs.estimate(get_engine(), RunRequest(scope="chat", chat_id=chat_id), model="gpt-4o-mini")
    assert priced.tokens_in == estimate.tokens_in and priced.cost_usd > 0
    local_only = runs.estimate(get_engine(), RunRequest(scope="chat", chat_id=chat_id,
                                                        passes=["conversation_stats"]), model="gpt-4o-mini")
    assert (local_only.calls, local_only.tokens_in, local_only.cost_usd) == (0, 0, 0.0)
    everything = runs.estimate(get_engine(), RunRequest(scope="all"), model="chatstats/offline")
    onboarding = runs.estimate(get_engine(), RunRequest(scope="onboarding"), model="chatstats/offline")
    assert everything.conversations >= onboarding.conversations >= conversations > 0


def test_api_rejects_bad_scopes_and_needs_redis(api, imported):
    assert api.get("/api/analysis/estimate", params={"scope": "chat"}).status_code == 400
    assert api.get("/api/analysis/estimate", params={"scope": "chat", "chat_id": 99999}).json()["code"] == \
        "invalid_scope"
    assert api.get("/api/analysis/estimate", params={"scope": "all", "passes": "nope"}).status_code == 400
    response = api.post("/api/analysis/runs", json={"scope": "all"})
    assert response.status_code == 503 and "chatstats up" in response.json()["message"]
    assert db().execute("SELECT count(*) FROM analysis_runs").fetchone()[0] == 0
    assert api.get("/api/analysis/runs/12345").status_code == 404


def test_chat_run_through_real_workers_publishes_progress_and_ends_done(imported, redis_server, celery_workers, api):
    chat_id, conversations = _chat_with_conversations()
    estimate = api.get("/api/analysis/estimate", params={"scope": "chat", "chat_id": chat_id}).json()
    assert estimate["tokens_in"] > 0 and estimate["cost_usd"] == 0.0

    response = api.post("/api/analysis/runs", json={"scope": "chat", "chat_id": chat_id})
    assert response.status_code == 201, response.text
    created = response.json()
    run_id = created["run"]["id"]
    assert created["run"]["total"] == conversations * 3 and created["estimate"] == estimate
    assert created["run"]["estimate_tokens"] == estimate["tokens_in"] + estimate["tokens_out"]

    run = _wait(lambda: (r := api.get(f"/api/analysis/runs/{run_id}").json())["status"] == "done" and r,
                what="the run done")
    assert run["done"] == run["total"] == conversations * 3 and run["failed"] == 0 and run["finished_at"]
    assert runs.read_counters(redis.Redis.from_url(redis_server.url), run_id) == \
        {"total": run["total"], "done": run["total"], "failed": 0}
    rows = db().execute("""
        SELECT j.status, c.chat_id FROM analysis_run_jobs l JOIN analysis_jobs j ON j.id = l.job_id
        JOIN conversations c ON c.id = j.conversation_id WHERE l.run_id = ?
    """, (run_id,)).fetchall()
    assert len(rows) == run["total"] and {tuple(r) for r in rows} == {("done", chat_id)}

    events = _wait(lambda: (e := _progress_events(redis_server.url, run_id)) and e[-1]["status"] == "done" and e,
                   what="the done event on the stream")
    assert events[-1] == {"run_id": run_id, "status": "done", "done": run["total"], "failed": 0,
                          "total": run["total"]}
    dones = [e["done"] for e in events]
    assert dones == sorted(dones) and len({*dones}) > 2  # it moved job by job
    assert api.get("/api/analysis/runs").json()["runs"][0]["id"] == run_id
    assert api.post(f"/api/analysis/runs/{run_id}/cancel").status_code == 409

    # a second run over the same chat finds every job done: it is done at once, no job runs again
    second = api.post("/api/analysis/runs", json={"scope": "chat", "chat_id": chat_id}).json()["run"]["id"]
    again = _wait(lambda: (r := api.get(f"/api/analysis/runs/{second}").json())["status"] == "done" and r,
                  what="the second run done")
    assert again["done"] == again["total"] == run["total"]
    assert db().execute("SELECT max(attempts) FROM analysis_jobs").fetchone()[0] == 1


def test_cancel_withdraws_the_unstarted_jobs_and_workers_skip_them(imported, redis_server, celery_workers, api):
    chat_id, conversations = _chat_with_conversations()
    client = redis.Redis.from_url(redis_server.url)
    created = runs.create_run(get_engine(), RunRequest(scope="chat", chat_id=chat_id), model="chatstats/offline",
                              client=client, enqueue=lambda _run_id: None)  # started here, not by a worker
    run_id = created.run.id
    assert runs.read_counters(client, run_id) == {"total": conversations * 3, "done": 0, "failed": 0}
    held: list[int] = []
    runs.start_run(get_engine(), run_id, client=client, send_job=held.append)  # task messages held back
    assert len(held) == conversations * 3
    first, rest = held[0], held[1:]
    celery_workers.app.send_task("analysis.run_job", args=[first])  # one job runs before the cancel
    _wait(lambda: runs.get_run(get_engine(), run_id).done == 1, what="the first job done")

    response = api.post(f"/api/analysis/runs/{run_id}/cancel")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["done"]) == ("cancelled", 1)
    assert api.post(f"/api/analysis/runs/{run_id}/cancel").json()["status"] == "cancelled"  # idempotent
    for job_id in rest:  # the held messages arrive after the cancel
        celery_workers.app.send_task("analysis.run_job", args=[job_id])
    assert runs.start_run(get_engine(), run_id, client=client, send_job=held.append) == []  # a late start: nothing

    def drained() -> bool:
        return client.llen("db") == 0 and client.llen("llm") == 0
    _wait(drained, what="queues drained")
    time.sleep(1.0)
    statuses = db().execute("SELECT status FROM analysis_jobs").fetchall()
    assert [r["status"] for r in statuses] == ["done"]  # the rest were withdrawn, never run
    # one model call at most (the first job's); its written analysis may be embedded (purpose search.*)
    assert db().execute("SELECT count(*) FROM llm_calls WHERE purpose NOT LIKE 'search.%'").fetchone()[0] <= 1
    run = runs.get_run(get_engine(), run_id)
    assert (run.status, run.done, run.total) == ("cancelled", 1, conversations * 3)
    assert _progress_events(redis_server.url, run_id)[-1]["status"] == "cancelled"


def test_cli_analyze_chat_yes_wait_follows_the_run_to_done(imported, redis_server, celery_workers,
                                                          isolated_data_dir):
    chat_id, conversations = _chat_with_conversations()
    env = {**os.environ, "CHATSTATS_DATA_DIR": str(isolated_data_dir), "CHATSTATS_REDIS_URL": redis_server.url,
           "CHATSTATS_LOG_LEVEL": "WARNING"}
    done = subprocess.run([sys.executable, "-m", "backend.cli.main", "analyze", "--chat", str(chat_id), "--yes",
                           "--wait", "--timeout", "60"], env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    estimate = json.loads(lines[0])
    assert (estimate["event"], estimate["conversations"], estimate["cost_usd"]) == ("estimate", conversations, 0.0)
    assert json.loads(lines[1])["event"] == "run_created"
    progress = [line for line in lines[2:-1] if line.startswith("run ")]
    assert progress and all("\r" not in line for line in progress)  # plain lines when piped
    finished = json.loads(lines[-1])
    assert finished["event"] == "run_finished"
    assert finished["run"]["status"] == "done" and finished["run"]["done"] == finished["run"]["total"] == \
        conversations * 3

    no_redis = {**env, "CHATSTATS_REDIS_URL": "unix:///nonexistent/redis.sock"}
    refused = subprocess.run([sys.executable, "-m", "backend.cli.main", "analyze", "--chat", str(chat_id), "--yes"],
                             env=no_redis, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "chatstats up" in refused.stderr
    assert db().execute("SELECT count(*) FROM analysis_runs").fetchone()[0] == 1

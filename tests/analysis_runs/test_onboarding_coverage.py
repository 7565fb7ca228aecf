"""Onboarding (the whole history, newest first, without asking for a local model; after consent for a paid
one) and coverage ("N of M conversations analysed"), checked against counts computed here in SQLite."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from backend.analysis.runs import onboarding, window
from backend.analysis.runs.tasks import enqueue_start_run
from backend.api.app import create_app
from backend.config import get_settings, reset_settings_cache
from backend.db.engine import get_engine
from backend.worker import task_refs
from tests.analysis.helpers import db
from tests.waiting import wait_until

TOKEN = "test-token-onboarding-0123456789"
ANALYSABLE = "state IN ('sealed', 'ready', 'historic') AND message_count > 0"


@pytest.fixture
def api(imported, monkeypatch) -> Iterator[TestClient]:
    monkeypatch.setenv("CHATSTATS_LIVE_SYNC", "false")
    reset_settings_cache()
    with TestClient(create_app(get_settings(), token=TOKEN), base_url="http://127.0.0.1:8765",
                    headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


def _current_passes() -> dict[str, str]:
    from backend.analysis.coverage.service import current_passes
    from backend.db.session import session_scope

    with session_scope(get_engine()) as conn:
        return dict(current_passes(conn))


def sqlite_coverage(where: str = "1", params: tuple = ()) -> dict[str, int]:
    """total / analysed / stale counted here, one conversation at a time, from analysis_jobs."""
    passes = _current_passes()
    conn = db()
    total = analysed = stale = 0
    for c in conn.execute(f"SELECT id, revision FROM conversations WHERE {ANALYSABLE} AND {where}", params):
        jobs = conn.execute("SELECT pass_name, prompt_version, revision FROM analysis_jobs "
                            "WHERE conversation_id = ? AND status = 'done'", (c["id"],)).fetchall()
        current = {j["pass_name"] for j in jobs
                   if passes.get(j["pass_name"]) == j["prompt_version"] and j["revision"] == c["revision"]}
        old = [j for j in jobs if j["pass_name"] in passes
               and (passes[j["pass_name"]] != j["prompt_version"] or j["revision"] != c["revision"])]
        total += 1
        if current == set(passes):
            analysed += 1
        elif old:
            stale += 1
    return {"total": total, "analysed": analysed, "stale": stale, "remaining": total - analysed}


def _coverage(api: TestClient, **params: int) -> dict:
    body = api.get("/api/analysis/coverage", params=params).json()
    return {k: body[k] for k in ("total", "analysed", "stale", "remaining")}


def _queued_jobs(client: redis.Redis) -> int:
    """Messages of `analysis.run_job` waiting on worker-db's queue."""
    messages = client.lrange("db", 0, -1)
    return sum(1 for raw in messages if json.loads(raw).get("headers", {}).get("task") == task_refs.RUN_JOB.name)


def test_a_local_model_analyses_the_whole_history_newest_first_without_asking(imported, redis_server,
                                                                             celery_workers, api):
    before = _coverage(api)
    assert before == sqlite_coverage() and before["total"] > 0 and before["analysed"] == 0
    assert api.get("/api/analysis/onboarding").json()["status"] == "not_started"

    client = redis.Redis.from_url(redis_server.url)
    state = onboarding.begin(get_engine(), model="chatstats/offline", client=client,
                             enqueue=lambda run_id: enqueue_start_run(run_id, redis_url=redis_server.url))
    assert state is not None and state["status"] == "started"
    run_id = state["run_id"]
    # a second start (a restart of `up`) finds the decision made: no second run, the same one resumed
    resumed: list[int] = []
    assert onboarding.begin(get_engine(), model="chatstats/offline", client=client, enqueue=resumed.append) == state
    assert resumed in ([run_id], [])
    assert db().execute("SELECT count(*) FROM analysis_runs").fetchone()[0] == 1
    for again in resumed:
        enqueue_start_run(again, redis_url=redis_server.url)

    moving = []
    queued = []
    def done() -> bool:
        queued.append(_queued_jobs(client))  # run jobs waiting for worker-db
        now = _coverage(api)
        moving.append(now["analysed"])
        return now["analysed"] == now["total"]

    wait_until(done, timeout=120, interval=0.2, what="every conversation analysed")
    after = _coverage(api)
    assert after == sqlite_coverage() and after["analysed"] == before["total"] and after["remaining"] == 0
    assert len(set(moving)) > 2  # the counter moved while the run went on
    jobs = db().execute("SELECT count(*) FROM analysis_run_jobs WHERE run_id = ?", (run_id,)).fetchone()[0]
    assert jobs == 3 * before["total"] > window.WINDOW  # long enough to be windowed
    assert max(queued) <= window.WINDOW  # the history never floods the queue live work shares (other tasks
    # on it, a persist or an embedding, are live work and not the window's to bound)
    body = api.get("/api/analysis/onboarding").json()
    assert body["status"] == "started" and body["run"]["id"] == run_id
    wait_until(lambda: api.get(f"/api/analysis/runs/{run_id}").json()["status"] == "done", timeout=30,
               what="the run done")

    # newest first: the run's jobs were started in the order of the conversations' last messages
    order = db().execute("""
        SELECT c.last_message_at FROM analysis_jobs j JOIN conversations c ON c.id = j.conversation_id
        WHERE j.pass_name = 'basic' ORDER BY j.updated_at, j.id
    """).fetchall()
    times = [r[0] for r in order]
    inversions = sum(1 for a, b in zip(times, times[1:], strict=False) if b > a)
    assert inversions <= len(times) // 4, times  # concurrent workers may swap neighbours, not reverse the order

    # per chat and per person, as counted in SQLite
    chats = api.get("/api/analysis/coverage/list", params={"by": "chat"}).json()["chats"]
    assert chats and all({k: c[k] for k in ("total", "analysed", "stale", "remaining")}
                         == sqlite_coverage("chat_id = ?", (c["chat_id"],)) for c in chats)
    assert sum(c["total"] for c in chats) == after["total"]
    chat_id = chats[0]["chat_id"]
    assert _coverage(api, chat_id=chat_id) == sqlite_coverage("chat_id = ?", (chat_id,))
    contacts = api.get("/api/analysis/coverage/list", params={"by": "contact"}).json()["contacts"]
    assert contacts
    for person in contacts[:5]:
        where = "chat_id IN (SELECT chat_id FROM chat_participants WHERE contact_id = ?)"
        expected = sqlite_coverage(where, (person["contact_id"],))
        assert {k: person[k] for k in expected} == expected
        assert _coverage(api, contact_id=person["contact_id"]) == expected

    # a new prompt version makes every result stale until a run re-analyses it
    conn = db()
    with conn:
        conn.execute("UPDATE analysis_jobs SET prompt_version = prompt_version || '-old' WHERE pass_name = 'basic'")
    stale = _coverage(api)
    assert stale == sqlite_coverage() and stale["analysed"] == 0 and stale["stale"] == stale["total"] > 0


def test_a_paid_model_waits_for_consent_then_runs_the_history(imported, redis_server, celery_workers, api,
                                                             monkeypatch):
    client = redis.Redis.from_url(redis_server.url)
    started: list[int] = []
    state = onboarding.begin(get_engine(), model="openai/gpt-4o-mini", client=client, enqueue=started.append)
    assert state == {"status": "awaiting_consent", "model": "openai/gpt-4o-mini"} and started == []
    assert db().execute("SELECT count(*) FROM analysis_runs").fetchone()[0] == 0
    assert db().execute("SELECT count(*) FROM analysis_jobs").fetchone()[0] == 0

    offer = api.get("/api/analysis/onboarding").json()
    total = sqlite_coverage()["total"]
    assert offer["status"] == "awaiting_consent" and offer["run"] is None
    assert offer["estimate"]["conversations"] == total and offer["estimate"]["scope"] == "history"

    declined = api.post("/api/analysis/onboarding/decline").json()
    assert declined["status"] == "declined" and declined["estimate"]["conversations"] == total
    assert db().execute("SELECT count(*) FROM analysis_runs").fetchone()[0] == 0

    # consent through the API (the app's model is the offline analyzer here, so the run can complete)
    accepted = api.post("/api/analysis/onboarding/accept")
    assert accepted.status_code == 201, accepted.text
    run_id = accepted.json()["run"]["id"]
    assert api.post("/api/analysis/onboarding/accept").json()["code"] == "onboarding_not_awaiting_consent"
    wait_until(lambda: _coverage(api)["remaining"] == 0, timeout=120, interval=0.2, what="the history analysed")
    assert api.get("/api/analysis/onboarding").json()["run"]["id"] == run_id
    assert _coverage(api) == sqlite_coverage()

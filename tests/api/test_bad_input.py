"""The API answers bad input with 4xx, never 500: numbers SQLite cannot hold, unknown ids in a body,
a token that is not ASCII; the OpenAPI document lists those answers; big analysis runs need a confirm."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backend.api.app import create_app
from backend.config import get_settings, reset_settings_cache
from tests.api_fixtures import AUTH, TOKEN, db, inbox_source  # noqa: F401 - fixtures

TOO_BIG = 2**63  # one past SQLite's largest integer


@pytest.fixture
def api(db) -> Iterator[TestClient]:
    with TestClient(create_app(get_settings(), token=TOKEN), base_url="http://127.0.0.1:8765",
                    headers=AUTH) as client:
        yield client


@pytest.mark.parametrize("path", [
    f"/api/chats/{TOO_BIG}", f"/api/messages/{TOO_BIG}", f"/api/conversations/{TOO_BIG}",
    f"/api/contacts/{TOO_BIG}", f"/api/chats/{TOO_BIG}/messages", f"/api/insights/chats?since={TOO_BIG}",
    f"/api/assistant/threads/{TOO_BIG}", f"/api/commitments/{TOO_BIG}", f"/api/analysis/runs/{TOO_BIG}",
    f"/api/chats/{10**30}",
])
def test_integers_past_2_63_are_404_or_422(api, path):
    response = api.get(path)
    assert response.status_code in (404, 422), response.text


def test_the_largest_integer_is_simply_not_found(api):
    assert api.get(f"/api/chats/{TOO_BIG - 1}").status_code == 404


def test_a_thread_with_unknown_chats_or_contacts_is_422_and_not_created(api, db):
    chat_id = db.execute("SELECT min(id) FROM chats WHERE message_count > 0").fetchone()[0]
    contact_id = db.execute("SELECT min(id) FROM contacts").fetchone()[0]
    missing = db.execute("SELECT max(id) + 1000 FROM chats").fetchone()[0]
    before = db.execute("SELECT count(*) FROM chatbot_threads").fetchone()[0]
    for body in ({"chat_ids": [missing]}, {"contact_ids": [0]}, {"chat_ids": [TOO_BIG]},
                 {"chat_ids": [chat_id], "contact_ids": [contact_id, -5]}):
        response = api.post("/api/assistant/threads", json={"title": "t", **body})
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "unknown_context"
    assert db.execute("SELECT count(*) FROM chatbot_threads").fetchone()[0] == before
    created = api.post("/api/assistant/threads", json={"title": "ok", "chat_ids": [chat_id],
                                                       "contact_ids": [contact_id]})
    assert created.status_code in (200, 201), created.text
    thread_id = created.json()["id"]
    assert api.put(f"/api/assistant/threads/{thread_id}/contexts",
                   json={"chat_ids": [missing], "contact_ids": []}).status_code == 422
    assert api.get(f"/api/assistant/threads/{thread_id}/contexts").json()["chat_ids"] == [chat_id]


@pytest.mark.parametrize("token", ["tøken", "日本語", "\u00e9" * 40, TOKEN + "é"])
def test_a_token_that_is_not_ascii_is_401(db, token):
    with TestClient(create_app(get_settings(), token=TOKEN), base_url="http://127.0.0.1:8765") as client:
        response = client.get("/api/chats", headers={"Authorization": f"Bearer {token}".encode()})
        assert response.status_code == 401
        assert client.get("/api/chats", params={"token": token}).status_code == 401
        assert client.get("/api/chats", headers=AUTH).status_code == 200


def test_openapi_lists_the_error_answers(api):
    document = api.get("/openapi.json").json()
    operations = [(path, method, op) for path, ops in document["paths"].items() for method, op in ops.items()]
    assert len(operations) > 40
    for path, method, op in operations:
        codes = set(op["responses"])
        assert "400" in codes, (method, path)
        if path.startswith("/api") and path not in ("/api/health", "/api/health/live"):  # public: no token
            assert "401" in codes, (method, path)
        if "{" in path:
            assert {"404", "422"} <= codes, (method, path)
    assert "ErrorBody" in document["components"]["schemas"]


def test_a_run_over_the_job_limit_needs_confirmation(db, redis_server, monkeypatch):
    monkeypatch.setenv("CHATSTATS_ANALYSIS_CONFIRM_JOBS_OVER", "3")
    reset_settings_cache()
    with TestClient(create_app(get_settings(), token=TOKEN), base_url="http://127.0.0.1:8765",
                    headers=AUTH) as client:
        jobs = client.get("/api/analysis/estimate", params={"scope": "all"}).json()["jobs"]
        assert jobs > 3
        refused = client.post("/api/analysis/runs", json={"scope": "all"})
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "confirmation_required"
        assert refused.json()["details"]["jobs"] == jobs
        assert client.get("/api/analysis/runs").json()["runs"] == []
        confirmed = client.post("/api/analysis/runs", json={"scope": "all", "confirm": True})
        assert confirmed.status_code == 201, confirmed.text
        assert confirmed.json()["run"]["params"].get("confirm") is None
        assert [r["id"] for r in client.get("/api/analysis/runs").json()["runs"]] == [confirmed.json()["run"]["id"]]

"""The failed-tasks admin API over HTTP, against a real broker and worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.api.app import create_app
from backend.config import get_settings
from backend.worker import failures
from tests.worker.conftest import failed_rows, runs, wait_for

TOKEN = "test-token-admin-0123456789"


def client_for(settings) -> TestClient:
    return TestClient(create_app(settings, token=TOKEN), base_url="http://127.0.0.1:8765",
                      headers={"Authorization": f"Bearer {TOKEN}"})


@pytest.fixture
def api(celery_workers) -> Iterator[TestClient]:
    with client_for(get_settings()) as client:
        yield client


def test_list_retry_and_purge_failed_tasks(api: TestClient, celery_workers, migrated_engine,
                                           tmp_path: Path) -> None:
    needed, needs_runs = tmp_path / "needed.txt", tmp_path / "needs.runs"
    celery_workers.app.send_task("sample.needs_file", args=[str(needed), str(needs_runs)])
    wait_for(lambda: failed_rows(migrated_engine), what="the failure")

    listing = api.get("/api/admin/failed-tasks").json()
    [item] = listing["items"]
    assert listing["counts"] == {"pending": 1}
    assert item["task_name"] == "sample.needs_file" and item["status"] == "pending"
    assert item["args"] == [str(needed), str(needs_runs)] and item["kwargs"] == {}
    assert item["reason"].startswith("FileNotFoundError:") and item["attempts"] == 1
    assert item["first_failed_at"] == item["last_failed_at"] and item["next_retry_at"] > item["last_failed_at"]
    assert api.get("/api/admin/failed-tasks", params={"status": "resolved"}).json()["items"] == []
    assert api.get("/api/admin/failed-tasks", params={"status": "bogus"}).status_code == 422

    missing = api.post("/api/admin/failed-tasks/999999/retry")
    assert missing.status_code == 404 and missing.json()["code"] == "failed_task_not_found"

    needed.write_text("fixed")
    retried = api.post(f"/api/admin/failed-tasks/{item['id']}/retry")
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] in ("replaying", "resolved")  # the worker may already be done
    wait_for(lambda: failed_rows(migrated_engine)[0]["status"] == "resolved", what="resolved after retry")
    assert len(runs(needs_runs)) == 2
    assert api.get("/api/admin/failed-tasks", params={"status": "resolved"}).json()["items"][0]["id"] == item["id"]

    assert api.delete("/api/admin/failed-tasks").status_code == 422  # the scope is required
    assert api.delete("/api/admin/failed-tasks", params={"status": "abandoned"}).json() == {"deleted": 0}
    assert api.delete("/api/admin/failed-tasks", params={"status": "resolved"}).json() == {"deleted": 1}
    assert api.get("/api/admin/failed-tasks").json() == {"items": [], "counts": {}}


def test_purge_all_removes_every_status(migrated_engine, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(3):
        failures.record_failure(task_id=f"t{n}", task_name="sample.x", queue="db", args=[n], kwargs={},
                                exc=ValueError("bad"), engine=migrated_engine)
    failures.resolve_if_failed(task_name="sample.x", args=[0], kwargs={}, engine=migrated_engine)
    with client_for(get_settings()) as client:
        assert client.get("/api/admin/failed-tasks").json()["counts"] == {"pending": 2, "resolved": 1}
        assert client.delete("/api/admin/failed-tasks", params={"status": "all"}).json() == {"deleted": 3}
    assert failed_rows(migrated_engine) == []


def test_retry_without_a_broker_answers_503(migrated_engine) -> None:
    row = failures.record_failure(task_id="t1", task_name="sample.x", queue="db", args=[1], kwargs={},
                                  exc=ValueError("bad"), engine=migrated_engine)
    assert get_settings().redis_url == ""
    with client_for(get_settings()) as client:
        response = client.post(f"/api/admin/failed-tasks/{row['id']}/retry")
    assert response.status_code == 503 and response.json()["code"] == "broker_unavailable"
    assert failed_rows(migrated_engine)[0]["status"] == "pending"  # nothing was sent: untouched


def test_retry_with_the_broker_down_answers_503_and_keeps_the_row_pending(redis_server, migrated_engine) -> None:
    row = failures.record_failure(task_id="t1", task_name="sample.x", queue="db", args=[1], kwargs={},
                                  exc=ValueError("bad"), engine=migrated_engine)
    settings = get_settings()
    redis_server.stop()
    with client_for(settings) as client:
        response = client.post(f"/api/admin/failed-tasks/{row['id']}/retry")
    assert response.status_code == 503 and response.json()["code"] == "broker_unavailable"
    assert failed_rows(migrated_engine)[0]["status"] == "pending"

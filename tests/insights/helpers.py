"""A demo mirror with real offline-model results for a few conversations, behind a real app.

Test modules import the fixtures they use from here (`analysed`, `api`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backend.analysis import jobs, passes, persist
from backend.api.app import create_app
from backend.config import get_settings
from backend.db.engine import get_engine
from tests.analysis.helpers import db, plant_message

TOKEN = "test-token-insights-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ANALYSED = 6  # most recent conversations of the busiest chat
PROMISES = ("I'll send you the report tomorrow", "I'll call the landlord on Friday",
            "I will book the restaurant next week")


def analyse(conversation_id: int) -> None:
    """Both stages of every batch pass, called directly (what the Celery tasks wrap)."""
    engine = get_engine()
    revision = db().execute("SELECT revision FROM conversations WHERE id = ?", (conversation_id,)).fetchone()[0]
    for job_id in jobs.ensure_batch_jobs(engine, conversation_id=conversation_id, revision=revision):
        if jobs.run_job(engine, job_id) == "needs_llm":
            assert persist.persist_result(engine, job_id, passes.call_llm(engine, job_id)) is True


@pytest.fixture
def analysed(imported) -> dict:
    """The busiest chat's latest conversations analysed, promises planted in three of them."""
    conn = db()
    chat_id = conn.execute("SELECT chat_id FROM messages WHERE kind = 'message' GROUP BY chat_id "
                           "ORDER BY count(*) DESC, chat_id LIMIT 1").fetchone()[0]
    conversations = [r[0] for r in conn.execute(
        "SELECT id FROM conversations WHERE chat_id = ? ORDER BY last_message_at DESC, id DESC LIMIT ?",
        (chat_id, ANALYSED))]
    for conversation_id, text in zip(conversations, PROMISES, strict=False):
        plant_message(conversation_id, text)
    for conversation_id in conversations:
        analyse(conversation_id)
    return {"chat_id": chat_id, "conversations": conversations}


@pytest.fixture
def api(analysed) -> Iterator[TestClient]:
    app = create_app(get_settings(), token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1:8765", headers=AUTH) as client:
        yield client


def rows(sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    return db().execute(sql, params).fetchall()


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()

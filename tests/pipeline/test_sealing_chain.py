"""Real redis-server, real Celery workers (gevent io + prefork db), a real demo source written live."""

from __future__ import annotations

import json
import sqlite3
import time

from backend.config import get_settings
from backend.db.clock import now_ms
from backend.db.engine import get_engine
from backend.events.bus import STREAM, redis_client, relay_pending
from backend.source.demo.live import LiveSourceWriter
from tests.waiting import wait_until

GAP_MS = 90 * 60_000


def _db() -> sqlite3.Connection:
    conn = sqlite3.connect(get_settings().central_db_path)
    conn.row_factory = sqlite3.Row
    return conn


def _wait(predicate, timeout: float = 30.0, what: str = "condition"):
    return wait_until(predicate, timeout=timeout, what=what, interval=0.05)


def _jobs(conversation_id: int, pass_name: str = "conversation_stats") -> list[sqlite3.Row]:
    """Jobs of one batch pass (the built-in one: it needs no model) for a conversation."""
    return _db().execute("SELECT * FROM analysis_jobs WHERE conversation_id = ? AND pass_name = ?",
                         (conversation_id, pass_name)).fetchall()


def _live_conversation(imported, live_sync, text: str, *, at: float | None = None) -> int:
    with LiveSourceWriter(imported / "chat.db", seed=41) as writer:
        guid = writer.write_message(text=text, at=at)
    live_sync.run_pass()
    row = _db().execute("SELECT c.id, c.state FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                        "WHERE m.guid = ?", (guid,)).fetchone()
    assert row["state"] == "open"
    return row["id"]


def _seal_at(workers, at_ms: int) -> None:
    workers.app.send_task("conversations.check_sealing", kwargs={"now_ms": at_ms})


def test_live_message_then_90_minutes_later_sealed_ready_and_the_batch_pass_ran_once(
        imported, live_sync, redis_server, celery_workers):
    conversation_id = _live_conversation(imported, live_sync, "a plan for saturday")
    relay_pending(get_engine(), redis_client(redis_server.url))
    later = now_ms() + GAP_MS + 60_000  # the controllable clock: 91 minutes on, without sleeping

    _seal_at(celery_workers, later)
    job = _wait(lambda: [j for j in _jobs(conversation_id) if j["status"] == "done"], what="the batch pass")[0]
    state = _db().execute("SELECT state, sealed_at FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
    assert state["state"] == "ready" and state["sealed_at"] == later
    result = json.loads(job["result"])
    assert result["messages"] >= 1 and job["pass_name"] == "conversation_stats" and job["attempts"] == 1

    # redelivery: the same events again, and the check again, change nothing
    client = redis_client(redis_server.url)
    for _entry_id, fields in client.xrange(STREAM):
        client.xadd(STREAM, fields)
    _seal_at(celery_workers, later + 1)
    time.sleep(2.0)
    jobs = _jobs(conversation_id)
    assert len(jobs) == 1 and jobs[0]["attempts"] == 1


def test_new_content_in_a_sealed_conversation_reopens_it_and_the_pass_runs_again(
        imported, live_sync, redis_server, celery_workers):
    conversation_id = _live_conversation(imported, live_sync, "first part")
    _seal_at(celery_workers, now_ms() + GAP_MS + 60_000)
    _wait(lambda: [j for j in _jobs(conversation_id) if j["status"] == "done"], what="the first pass")
    with LiveSourceWriter(imported / "chat.db", seed=42) as writer:  # an out-of-order backfill lands inside it
        chat_guid = _db().execute("""SELECT cs.source_guid FROM conversations c JOIN chat_sources cs ON cs.chat_id = c.chat_id
                                     WHERE c.id = ?""", (conversation_id,)).fetchone()[0]
        writer.write_message(chat_guid=chat_guid, text="late arrival", at=time.time() - 30)
    live_sync.run_pass()
    row = _db().execute("SELECT state, revision FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
    assert row["state"] == "open" and row["revision"] == 2
    _seal_at(celery_workers, now_ms() + GAP_MS + 120_000)
    done = _wait(lambda: [j for j in _jobs(conversation_id) if j["status"] == "done" and j["revision"] == 2],
                 what="the pass over the new content")
    assert len(done) == 1 and len(_jobs(conversation_id)) == 2


def test_start_up_seals_what_fell_due_while_the_app_was_closed(imported, live_sync, redis_server, celery_workers):
    yesterday = time.time() - 24 * 3600
    conversation_id = _live_conversation(imported, live_sync, "said yesterday", at=yesterday)
    from fastapi.testclient import TestClient

    from backend.api.app import create_app

    with TestClient(create_app(get_settings(), token="t"), base_url="http://127.0.0.1:9"):
        assert _db().execute("SELECT state FROM conversations WHERE id = ?", (conversation_id,)).fetchone()[0] in (
            "sealed", "ready")
        _wait(lambda: [j for j in _jobs(conversation_id) if j["status"] == "done"], what="the pass after start-up")


def test_a_wiped_redis_loses_nothing_and_seals_still_happen(imported, live_sync, redis_server, celery_workers):
    conversation_id = _live_conversation(imported, live_sync, "before the wipe")
    later = now_ms() + GAP_MS + 60_000
    # seal in SQLite and relay the event, then lose every stream entry and queued task
    from backend.conversations.sealing import seal_due

    assert conversation_id in seal_due(get_engine(), now_ms=later, gap_ms=GAP_MS)
    relay_pending(get_engine(), redis_client(redis_server.url))
    redis_client(redis_server.url).flushall()
    # the periodic check re-derives the lost work from SQLite (finalize, then the batch pass)
    _seal_at(celery_workers, later + 3 * 60_000)
    _wait(lambda: _db().execute("SELECT state FROM conversations WHERE id = ?", (conversation_id,)).fetchone()[0]
          == "ready", what="finalize after the wipe")
    _seal_at(celery_workers, later + 6 * 60_000)
    done = _wait(lambda: [j for j in _jobs(conversation_id) if j["status"] == "done"], what="the pass after the wipe")
    assert len(done) == 1

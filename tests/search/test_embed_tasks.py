"""Keeping embeddings current: the sealed-conversation handler and task, and the pending sweep."""

from __future__ import annotations

import sqlite3

from backend.config import get_settings
from backend.db.clock import now_ms
from backend.db.engine import get_engine
from backend.events.bus import redis_client, relay_pending
from backend.events.handlers import handlers_for
from backend.search import service
from backend.source.demo.live import LiveSourceWriter
from backend.worker import queues
from backend.worker.celery_app import TASK_MODULES, app
from tests.waiting import wait_until

GAP_MS = 90 * 60_000
NEEDLE = "the submarine sandwich at the harbour deli was enormous"


def _db() -> sqlite3.Connection:
    conn = sqlite3.connect(get_settings().central_db_path)
    conn.row_factory = sqlite3.Row
    return conn


def _wait(predicate, timeout: float = 60.0, what: str = "condition"):
    return wait_until(predicate, timeout=timeout, what=what, interval=0.1)


def _chunks(conversation_id: int) -> list[sqlite3.Row]:
    return _db().execute("SELECT id, content_hash FROM embeddings WHERE ref_id = ? ORDER BY chunk_index",
                         (conversation_id,)).fetchall()


def _needing_embedding(model: str) -> list[int]:
    """Conversations past open with searchable text and no chunk (what a complete sweep leaves: none)."""
    return [r[0] for r in _db().execute("""
        SELECT c.id FROM conversations c WHERE c.state != 'open'
          AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.deleted_at IS NULL
                      AND m.is_unsent = 0 AND m.kind = 'message' AND m.text IS NOT NULL AND m.text != '')
          AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.ref_id = c.id AND e.model = ?)""", (model,))]


def test_tasks_are_routed_to_the_index_queue_and_the_sweep_is_scheduled():
    assert queues.queue_for("index.embed_conversations") == queues.INDEX
    assert queues.queue_for("index.embed_pending") == queues.INDEX
    assert "backend.search.tasks" in TASK_MODULES
    import backend.search.tasks  # noqa: F401 - what the worker imports from TASK_MODULES

    assert {"index.embed_conversations", "index.embed_pending"} <= set(app.tasks)
    assert app.conf.beat_schedule["embed-pending"] == {"task": "index.embed_pending", "schedule": 300.0}
    from backend.events.tasks import _load_handlers

    _load_handlers()
    assert "embed_when_sealed" in [h.__name__ for h in handlers_for("conversation.sealed")]


def test_embed_pending_works_through_missing_then_changed_conversations_in_bounded_batches(imported):
    engine = get_engine()
    model = get_settings().embedding_model
    todo = _needing_embedding(model)
    assert len(todo) > 6
    first = service.embed_pending(engine, limit=4)
    assert first["conversations"] == 4 and first["embedded"] > 0
    assert len(_needing_embedding(model)) == len(todo) - 4

    sweeps = 0
    while service.embed_pending(engine, limit=4)["conversations"]:
        sweeps += 1
        assert sweeps < 200
    assert _needing_embedding(model) == []
    assert service.embed_pending(engine, limit=4)["conversations"] == 0  # nothing left: the cursor is at the end

    # a change that no event announced: a message's text edited and the conversation touched
    cid = todo[0]
    before = _chunks(cid)
    with _db() as db:
        db.execute("UPDATE messages SET text = ? WHERE id = (SELECT min(id) FROM messages WHERE conversation_id = ?"
                   " AND kind = 'message' AND text != '')", (NEEDLE, cid))
        db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now_ms() + 1000, cid))
    stats = service.embed_pending(engine, limit=4)
    assert stats["conversations"] == 1 and stats["embedded"] >= 1
    after = _chunks(cid)
    assert after[0]["content_hash"] != before[0]["content_hash"] and after[0]["id"] > max(r["id"] for r in before)
    assert service.embed_pending(engine, limit=4)["conversations"] == 0


def test_a_sealed_conversation_is_embedded_by_the_workers_and_found_by_vector_search(
        imported, live_sync, redis_server, celery_workers):
    engine = get_engine()
    service.embed_conversations(engine)  # the imported history: the new conversation must beat it
    with LiveSourceWriter(imported / "chat.db", seed=43) as writer:
        guid = writer.write_message(text=NEEDLE)
    live_sync.run_pass()
    row = _db().execute("SELECT m.id, m.conversation_id, c.state FROM messages m "
                        "JOIN conversations c ON c.id = m.conversation_id WHERE m.guid = ?", (guid,)).fetchone()
    assert row["state"] == "open" and _chunks(row["conversation_id"]) == []
    relay_pending(engine, redis_client(redis_server.url))

    celery_workers.app.send_task("conversations.check_sealing", kwargs={"now_ms": now_ms() + GAP_MS + 60_000})
    chunks = _wait(lambda: _chunks(row["conversation_id"]), what="the sealed conversation's chunks")
    assert len(chunks) == 1

    def search():
        results = service.hybrid_search(engine, "sandwich from a deli by the harbour", mode="vector", limit=5)
        return results if row["conversation_id"] in {r["conversation_id"] for r in results} else None

    results = _wait(search, what="the index to take the new chunk")
    assert results[0]["conversation_id"] == row["conversation_id"]
    assert results[0]["sources"] == ["vector"] and [m["id"] for m in results[0]["messages"]] == [row["id"]]

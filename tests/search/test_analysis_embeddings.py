"""Analyses as vectors: embedded when persisted (the `analysis.job_done` event, and the pending sweep),
kept by content hash, dropped when gone, and ranked by meaning for the `analyses` retriever."""

from __future__ import annotations

import sqlite3

from backend.config import get_settings
from backend.db.engine import get_engine
from backend.db.session import run_write
from backend.events import outbox
from backend.events.bus import redis_client, relay_pending
from backend.events.handlers import handlers_for
from backend.events.types import AnalysisJobDone
from backend.retrieval.retrievers import RETRIEVERS, Query, State
from backend.search import analyses, coalesce, service
from backend.vectors import index as vindex
from backend.vectors.repo import ANALYSIS
from backend.worker import queues
from backend.worker.celery_app import app
from tests.waiting import wait_until

HIKING = ("They planned a weekend hike in the mountains and who brings the tent.", ["hiking", "camping gear"],
          ["Yosemite"])
BILLS = ("They argued about splitting the electricity bill and the rent.", ["money", "utilities"], ["landlord"])


def _db() -> sqlite3.Connection:
    conn = sqlite3.connect(get_settings().central_db_path)
    conn.row_factory = sqlite3.Row
    return conn


def _conversations(n: int) -> list[sqlite3.Row]:
    """The longest conversation of each of the n chats whose longest conversations are longest (n distinct chats:
    the generated data decides how long conversations are, and two of the longest may share a chat)."""
    return _db().execute("""
        SELECT id, chat_id FROM conversations c
        WHERE id = (SELECT id FROM conversations WHERE chat_id = c.chat_id ORDER BY message_count DESC, id LIMIT 1)
        ORDER BY message_count DESC, id LIMIT ?""", (n,)).fetchall()


def _analyse(conversation: sqlite3.Row, summary: str, topics: list[str], entities: list[str],
             pass_name: str = "basic") -> int:
    """What persisting a pass's result leaves: the analysis row (upserted), its topics and entities."""
    with _db() as db:
        analysis_id = db.execute("""
            INSERT INTO conversation_analyses (conversation_id, chat_id, pass_name, prompt_id, prompt_version,
                                               revision, summary, created_at, updated_at)
            VALUES (?, ?, ?, 'convo-all-v1', '1', 1, ?, 1, 1)
            ON CONFLICT (conversation_id, pass_name) DO UPDATE SET summary = excluded.summary,
                updated_at = (SELECT coalesce(max(updated_at), 0) + 1 FROM conversation_analyses)
            RETURNING id""", (conversation["id"], conversation["chat_id"], pass_name, summary)).fetchone()[0]
        db.execute("DELETE FROM topics WHERE analysis_id = ?", (analysis_id,))
        db.execute("DELETE FROM entities WHERE analysis_id = ?", (analysis_id,))
        for topic in topics:
            db.execute("INSERT INTO topics (analysis_id, conversation_id, chat_id, topic) VALUES (?, ?, ?, ?)",
                       (analysis_id, conversation["id"], conversation["chat_id"], topic))
        for entity in entities:
            db.execute("""INSERT INTO entities (analysis_id, conversation_id, chat_id, participant, kind, text)
                          VALUES (?, ?, ?, 'Sam', 'place', ?)""",
                       (analysis_id, conversation["id"], conversation["chat_id"], entity))
    return analysis_id


def _vectors() -> list[sqlite3.Row]:
    return _db().execute("""SELECT id, ref_id, chunk_index, model, content_hash, text_preview FROM embeddings
                            WHERE kind = 'analysis' ORDER BY ref_id""").fetchall()


def _wait(predicate, timeout: float = 60.0, what: str = "condition"):
    return wait_until(predicate, timeout=timeout, what=what, interval=0.1)


def test_the_handler_and_task_are_registered():
    from backend.events.tasks import _load_handlers

    _load_handlers()
    assert "embed_analysis_when_done" in [h.__name__ for h in handlers_for("analysis.job_done")]
    import backend.search.tasks  # noqa: F401 - what the worker imports

    assert "index.embed_analyses" in app.tasks
    assert queues.queue_for("index.embed_analyses") == queues.INDEX


def test_analyses_are_embedded_once_re_embedded_when_changed_and_dropped_when_gone(imported):
    engine = get_engine()
    model = get_settings().embedding_model
    first, second = _conversations(2)
    hiking = _analyse(first, *HIKING)
    bills = _analyse(second, *BILLS)
    _analyse(second, "", [], [], pass_name="commitments")  # nothing to embed: no vector

    stats = analyses.embed_analyses(engine, [first["id"], second["id"]])
    assert stats == {"analyses": 3, "embedded": 2, "unchanged": 0, "deleted": 0}
    rows = _vectors()
    assert [(r["ref_id"], r["chunk_index"], r["model"]) for r in rows] == [(hiking, 0, model), (bills, 0, model)]
    assert rows[0]["text_preview"] == (f"{HIKING[0]}\nTopics: camping gear, hiking\nMentioned: Yosemite")
    assert rows[0]["content_hash"] == analyses.content_hash(rows[0]["text_preview"])
    assert vindex.read_index(vindex.index_path(model, ANALYSIS)).count == 2
    assert _db().execute("SELECT count(*) FROM embeddings WHERE kind = 'chunk'").fetchone()[0] == 0

    again = analyses.embed_analyses(engine, [first["id"], second["id"]])
    assert again == {"analyses": 3, "embedded": 0, "unchanged": 2, "deleted": 0}
    assert [r["id"] for r in _vectors()] == [r["id"] for r in rows]

    _analyse(first, "They gave up on the hike because of the storm.", ["weather"], [])
    changed = analyses.embed_analyses(engine, [first["id"]])
    assert changed["embedded"] == 1 and changed["unchanged"] == 0
    after = _vectors()
    assert after[0]["ref_id"] == hiking and after[0]["id"] > max(r["id"] for r in rows)
    assert after[0]["content_hash"] != rows[0]["content_hash"] and after[1]["id"] == rows[1]["id"]

    with _db() as db:
        db.execute("DELETE FROM conversation_analyses WHERE id = ?", (bills,))
    gone = analyses.embed_analyses(engine, [first["id"]])
    assert gone["deleted"] == 1 and [r["ref_id"] for r in _vectors()] == [hiking]
    assert vindex.read_index(vindex.index_path(model, ANALYSIS)).count == 1


def test_the_pending_sweep_embeds_analyses_whose_event_was_lost(imported):
    engine = get_engine()
    first, second = _conversations(2)
    _analyse(first, *HIKING)
    _analyse(second, *BILLS)
    swept = service.embed_pending(engine, limit=1000)
    assert swept["analyses"] == 2 and swept["analyses_embedded"] == 2
    assert service.embed_pending(engine, limit=1000)["analyses"] == 0  # the cursor is past them
    _analyse(second, "They agreed to split the bills evenly.", ["money"], [])
    again = service.embed_pending(engine, limit=1000)
    assert again["analyses"] == 1 and again["analyses_embedded"] == 1


def test_the_analyses_retriever_ranks_by_meaning_when_asked(imported):
    engine = get_engine()
    first, second = _conversations(2)
    _analyse(first, *HIKING)
    _analyse(second, *BILLS)
    params = {"kind": ["topics", "entities"], "limit": 4}
    with engine.connect() as conn:
        newest_first = RETRIEVERS["analyses"](conn, params, Query(question="outdoor trip"), State())
    assert {i.conversation_id for i in newest_first} == {first["id"], second["id"]}  # nothing embedded: by time

    analyses.embed_analyses(engine, [first["id"], second["id"]])
    for question, best in (("Are we going camping outdoors?", first), ("Who pays for power and housing?", second)):
        nearest = analyses.nearest_analyses(engine, question, limit=2)
        assert [n["conversation_id"] for n in nearest] == [best["id"], ({first["id"], second["id"]} - {best["id"]}).pop()]
        with engine.connect() as conn:
            items = RETRIEVERS["analyses"](conn, params, Query(question=question), State())
        assert items[0].conversation_id == best["id"] and items[1].conversation_id == best["id"]
        assert {i.title for i in items[:2]} == {"Topics", "Entities"}
    assert first["chat_id"] != second["chat_id"]
    in_other_chat = analyses.nearest_analyses(engine, "camping", chat_ids=[second["chat_id"]], limit=5)
    assert [n["conversation_id"] for n in in_other_chat] == [second["id"]]  # the filter holds inside the scan


def test_a_persisted_analysis_is_embedded_by_the_workers(imported, redis_server, celery_workers):
    engine = get_engine()
    conversation = _conversations(1)[0]
    analysis_id = _analyse(conversation, *HIKING)
    run_write(lambda conn: outbox.record(conn, [AnalysisJobDone(job_id=1, conversation_id=conversation["id"],
                                                                pass_name="basic")]), engine=engine)
    relay_pending(engine, redis_client(redis_server.url))
    rows = _wait(_vectors, what="the analysis vector")
    assert [r["ref_id"] for r in rows] == [analysis_id]
    nearest = _wait(lambda: analyses.nearest_analyses(engine, "a hike in the mountains", limit=1),
                    what="the analysis index")
    assert nearest[0]["analysis_id"] == analysis_id and nearest[0]["conversation_id"] == conversation["id"]


def test_persisted_analyses_are_gathered_so_one_task_embeds_many(redis_server):
    client = redis_client(redis_server.url)
    assert coalesce.request(client, 7) is True  # none scheduled: the caller sends the task
    assert [coalesce.request(client, cid) for cid in (5, 7, 9)] == [False, False, False]  # gathered meanwhile
    assert coalesce.take(client) == [5, 7, 9]
    assert coalesce.reschedule(client) is False  # nothing left
    assert coalesce.request(client, 11) is True  # after a take, a new id schedules the next task
    assert coalesce.take(client, limit=5) == [11]
    for cid in range(1, 8):
        coalesce.request(client, cid)
    first = coalesce.take(client, limit=4)
    assert len(first) == 4
    assert coalesce.reschedule(client) is True  # three left and no task scheduled: one more task
    assert coalesce.reschedule(client) is False  # ... and only one
    rest = coalesce.take(client)
    assert sorted(first + rest) == list(range(1, 8))


def test_analyses_persisted_together_are_all_embedded_by_the_workers(imported, redis_server, celery_workers):
    engine = get_engine()
    conversations = _conversations(3)
    ids = [_analyse(c, summary, topics, entities) for c, (summary, topics, entities) in
           zip(conversations, (HIKING, BILLS, ("They booked a table at the harbour deli.", ["food"], [])),
               strict=True)]
    run_write(lambda conn: outbox.record(conn, [
        AnalysisJobDone(job_id=i, conversation_id=c["id"], pass_name=p)
        for i, (c, p) in enumerate(((c, p) for c in conversations for p in ("basic", "commitments")), 1)]),
        engine=engine)
    relay_pending(engine, redis_client(redis_server.url))
    rows = _wait(lambda: (found := _vectors()) and len(found) == 3 and found, what="three analysis vectors")
    assert sorted(r["ref_id"] for r in rows) == sorted(ids)
    assert _wait(lambda: redis_client(redis_server.url).scard(coalesce.PENDING_KEY) == 0, what="nothing left")

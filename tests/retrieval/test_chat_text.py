"""The chat_text retriever ranks like /api/search: bm25 and vectors fused, so meaning finds what words miss."""

from __future__ import annotations

import sqlite3

from backend.config import get_settings
from backend.db.engine import get_engine
from backend.prompts import load_pack
from backend.retrieval import fill_pack
from backend.retrieval.chat_text import search
from backend.search import service
from backend.source.demo.live import LiveSourceWriter

NEEDLE = "the submarine sandwich at the harbour deli was enormous"
QUESTION = "huge hoagie near a waterfront delicatessen"  # not one word in common with the needle


def _db() -> sqlite3.Connection:
    conn = sqlite3.connect(get_settings().central_db_path)
    conn.row_factory = sqlite3.Row
    return conn


def test_a_message_that_shares_no_word_with_the_question_is_found_by_meaning(imported, live_sync):
    assert not set(QUESTION.split()) & set(NEEDLE.split())
    with LiveSourceWriter(imported / "chat.db", seed=7) as writer:
        guid = writer.write_message(text=NEEDLE)
    live_sync.run_pass()
    engine = get_engine()
    assert service.embed_conversations(engine)["embedded"] > 0
    needle = _db().execute("SELECT id, chat_id, conversation_id FROM messages WHERE guid = ?", (guid,)).fetchone()

    with engine.connect() as conn:
        by_words = search(conn, question=QUESTION, chat_ids=None, limit=12, mode="fts")
        hybrid = search(conn, question=QUESTION, chat_ids=None, limit=12)
        in_chat = search(conn, question=QUESTION, chat_ids=[needle["chat_id"]], limit=12)
        elsewhere = search(conn, question=QUESTION, chat_ids=[-1], limit=12)
    assert needle["id"] not in [row["message_id"] for row in by_words]
    assert needle["id"] in [row["message_id"] for row in hybrid[:3]]
    hit = next(row for row in hybrid if row["message_id"] == needle["id"])
    assert hit["text"] == NEEDLE and hit["conversation_id"] == needle["conversation_id"]
    assert in_chat and {row["chat_id"] for row in in_chat} == {needle["chat_id"]}
    assert elsewhere == []

    filled = fill_pack(load_pack("eve-chat"), question=QUESTION, chat_ids=None, contact_ids=None)
    assert needle["id"] in [s.item.message_id for s in filled.sources if s.slice == "hits"]


def test_hits_take_turns_across_conversations(imported):
    engine = get_engine()
    service.embed_conversations(engine)
    with engine.connect() as conn:
        rows = search(conn, question="dinner plans this weekend", chat_ids=None, limit=8)
    results = service.hybrid_search(engine, "dinner plans this weekend", limit=8,
                                    fts_match='"dinner" OR "plans" OR "weekend"')
    firsts = [r["messages"][0]["id"] for r in results if r["messages"]]
    assert len(rows) == 8
    assert [row["message_id"] for row in rows[:len(firsts)]] == firsts[:8]  # the best of each conversation first

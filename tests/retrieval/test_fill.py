from __future__ import annotations

import sqlite3

import pytest

from backend.config import get_settings
from backend.db.engine import get_engine
from backend.db.session import session_scope
from backend.prompts import list_packs, load_pack
from backend.retrieval import fill_pack
from backend.retrieval.chat_text import match_query, search
from backend.retrieval.retrievers import DAY_MS


def _db() -> sqlite3.Connection:
    conn = sqlite3.connect(get_settings().central_db_path)
    conn.row_factory = sqlite3.Row
    return conn


def _a_message(conn: sqlite3.Connection) -> sqlite3.Row:
    """A received message with a few long words, the kind a question would quote."""
    for row in conn.execute("""SELECT id, chat_id, conversation_id, text, sent_at FROM messages
                               WHERE text IS NOT NULL AND is_from_me = 0 ORDER BY id"""):
        words = [w for w in row["text"].split() if len(w.strip(".,!?")) >= 6]
        if len(words) >= 2:
            return row
    raise AssertionError("the demo source has no message with long words")


def _analyse(conn: sqlite3.Connection, conversation_id: int, chat_id: int) -> None:
    """What a finished analysis leaves behind: a summary, topics and an open commitment."""
    conn.execute("""INSERT INTO conversation_analyses (conversation_id, chat_id, pass_name, prompt_id, prompt_version,
                    revision, summary, created_at, updated_at)
                    VALUES (?, ?, 'basic', 'convo-all-v1', '1', 1, 'They planned the weekend trip.', 0, 0)""",
                 (conversation_id, chat_id))
    analysis_id = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
    conn.execute("INSERT INTO topics (analysis_id, conversation_id, chat_id, topic) VALUES (?, ?, ?, 'hiking')",
                 (analysis_id, conversation_id, chat_id))
    conn.execute("""INSERT INTO commitments (conversation_id, chat_id, committed_by, text, fingerprint, created_at,
                    updated_at) VALUES (?, ?, 'Sam', 'bring the tent', 'fp-1', 0, 0)""", (conversation_id, chat_id))
    conn.commit()


def test_match_query_quotes_content_words_and_skips_stopwords():
    assert match_query("When did we talk about the concert?") == '"talk"* OR "concert"*'
    assert match_query("what did you do?") is None


def test_chat_text_search_finds_the_message_whose_words_are_asked(imported):
    with _db() as conn:
        target = _a_message(conn)
    question = " ".join(w.strip(".,!?") for w in target["text"].split() if len(w.strip(".,!?")) >= 6)
    with session_scope(get_engine(get_settings().central_db_path)) as conn:
        hits = search(conn, question=question, chat_ids=[target["chat_id"]], limit=5)
        elsewhere = search(conn, question=question, chat_ids=[-1], limit=5)
    assert target["id"] in [h["message_id"] for h in hits]
    assert all(h["chat_id"] == target["chat_id"] for h in hits)
    assert elsewhere == []


def test_eve_chat_pack_numbers_sources_and_cites_real_messages(imported):
    with _db() as conn:
        target = _a_message(conn)
        _analyse(conn, target["conversation_id"], target["chat_id"])
        newest = conn.execute("SELECT max(sent_at) FROM messages").fetchone()[0]
    question = target["text"]
    filled = fill_pack(load_pack("eve-chat"), question=question, chat_ids=[target["chat_id"]], contact_ids=[],
                       now_ms=newest + DAY_MS)
    assert [s.id for s in filled.sources] == [f"S{i}" for i in range(1, len(filled.sources) + 1)]
    hits = [s for s in filled.sources if s.slice == "hits"]
    assert target["id"] in [s.item.message_id for s in hits]
    summaries = [s for s in filled.sources if s.slice == "conversation_summaries"]
    assert "They planned the weekend trip." in [s.item.text for s in summaries]
    assert any("hiking" in s.item.text for s in filled.sources if s.slice == "analyses")
    assert any("bring the tent" in s.item.text for s in filled.sources if s.slice == "documents")
    assert filled.ledger.used <= 6000
    assert filled.ledger.entry("hits").action == "included"
    around = [s.item.message_id for s in filled.sources if s.slice == "around_hits"]
    assert around and not set(around) & {s.item.message_id for s in hits}


@pytest.mark.parametrize("pack", [p.id for p in list_packs()])
@pytest.mark.parametrize("share", [0.1, 0.5, 0.9])
def test_every_pack_respects_a_small_budget(imported, pack, share):
    with _db() as conn:
        target = _a_message(conn)
        _analyse(conn, target["conversation_id"], target["chat_id"])
        newest = conn.execute("SELECT max(sent_at) FROM messages").fetchone()[0]
        biggest = conn.execute("SELECT id FROM conversations ORDER BY message_count DESC LIMIT 1").fetchone()[0]
    loaded = load_pack(pack)
    kwargs = {"question": target["text"], "chat_ids": None, "contact_ids": None, "conversation_id": biggest,
              "now_ms": newest + DAY_MS}
    unbounded = fill_pack(loaded, budget=10**7, **kwargs)
    budget = int(unbounded.ledger.used * share)
    filled = fill_pack(loaded, budget=budget, **kwargs)
    assert unbounded.ledger.used > 300 and budget < unbounded.ledger.used  # the small budget has to trim
    assert 0 < filled.ledger.used <= budget
    assert filled.ledger.used == sum(e.tokens for e in filled.ledger.entries)
    assert filled.ledger.steps  # what was trimmed is recorded
    assert any(e.action in ("trimmed", "dropped") for e in filled.ledger.entries)
    assert sum(s.item.tokens for s in filled.sources) <= budget
    assert filled.user_name == "Me"


def test_trimming_applies_the_packs_strategies_in_order(imported):
    with _db() as conn:
        target = _a_message(conn)
        _analyse(conn, target["conversation_id"], target["chat_id"])
        newest = conn.execute("SELECT max(sent_at) FROM messages").fetchone()[0]
    pack = load_pack("eve-chat")
    full = fill_pack(pack, question=target["text"], chat_ids=None, contact_ids=None, budget=10**7,
                     now_ms=newest + DAY_MS)
    budget = full.ledger.used - full.ledger.entry("documents").tokens - 1  # over by a little more than the documents
    filled = fill_pack(pack, question=target["text"], chat_ids=None, contact_ids=None, budget=budget,
                       now_ms=newest + DAY_MS)
    assert filled.ledger.steps[0] == "limit_artifacts max_items 2"
    assert filled.ledger.used <= budget
    assert any(step.startswith("shrink_time_window") for step in filled.ledger.steps) or \
        filled.ledger.entry("documents").action in ("dropped", "trimmed")


def test_user_name_comes_from_settings(imported):
    with _db() as conn:
        conn.execute("""INSERT INTO app_settings (key, value, updated_at) VALUES ('user.name', '"Alex"', 0)""")
        conn.commit()
    filled = fill_pack(load_pack("eve-chat"), question="hello", chat_ids=None, contact_ids=None)
    assert filled.user_name == "Alex"
    assert filled.ledger.entry("user").source_ids == ("settings:user.name",)

"""Long conversations are windowed within their pass's context-pack budget; short ones go whole."""

from __future__ import annotations

import json

from backend.analysis import jobs, passes, persist, windowing
from backend.analysis.context import CHARS_PER_TOKEN
from backend.db.engine import get_engine
from backend.prompts.pack import load_pack
from tests.analysis.helpers import busiest_conversation, db

LINE = "We went over the budget for the new kitchen again and the builder wants another week {}."


def test_windows_cover_every_message_in_order_within_the_packs_budget():
    budget = windowing.Budget.of_pack("conversation-analysis")
    pack = load_pack("conversation-analysis")
    assert budget.tokens == pack.get_slice("messages").token_estimate and budget.messages == 800
    messages = [{"id": i, "sender": "Me", "is_from_me": True, "sent_at": "2024-05-03T10:00:00+02:00",
                 "text": LINE.format(i) * 3, "reactions": []} for i in range(1500)]
    payload = {"participants": [{"name": "Me", "is_me": True}], "messages": messages}
    parts = windowing.windows(payload, budget)
    assert len(parts) > 1
    assert [m["id"] for part in parts for m in part["messages"]] == list(range(1500))
    for part in parts:
        assert part["participants"] == payload["participants"]
        assert len(json.dumps(part["messages"])) // CHARS_PER_TOKEN <= budget.tokens
        assert len(part["messages"]) <= budget.messages
    short = {**payload, "messages": messages[:10]}
    assert windowing.windows(short, budget) == [short]


def test_a_long_conversation_is_analysed_in_windows_each_within_the_budget(imported):
    engine = get_engine()
    conversation_id = busiest_conversation()
    conn = db()
    with conn:
        chat_id, last = conn.execute("SELECT chat_id, max(sent_at) FROM messages WHERE conversation_id = ?",
                                     (conversation_id,)).fetchone()
        conn.executemany(
            "INSERT INTO messages (guid, chat_id, conversation_id, is_from_me, sent_at, text, kind) "
            "VALUES (?, ?, ?, 1, ?, ?, 'message')",
            [(f"long-{i}", chat_id, conversation_id, last + (i + 1) * 1000, LINE.format(i)) for i in range(700)])
    revision = conn.execute("SELECT revision FROM conversations WHERE id = ?", (conversation_id,)).fetchone()[0]
    jobs.ensure_batch_jobs(engine, conversation_id=conversation_id, revision=revision)
    job_id = conn.execute("SELECT id FROM analysis_jobs WHERE conversation_id = ? AND pass_name = 'basic'",
                          (conversation_id,)).fetchone()[0]
    assert jobs.run_job(engine, job_id) == "needs_llm"
    payload = passes.call_llm(engine, job_id)
    assert payload["windows"] >= 2
    calls = conn.execute("SELECT tokens_in FROM llm_calls WHERE prompt_id = 'convo-all-v1'").fetchall()
    assert len(calls) == payload["windows"]
    budget = load_pack("conversation-analysis").token_budget
    assert all(tokens_in <= budget for (tokens_in,) in calls)  # each call within the pack's budget
    assert persist.persist_result(engine, job_id, payload)
    summary = conn.execute("SELECT summary FROM conversation_analyses WHERE conversation_id = ? AND pass_name = "
                           "'basic'", (conversation_id,)).fetchone()[0]
    assert "kitchen" in summary  # the planted messages, from a later window, reached the merged result

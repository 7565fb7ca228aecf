"""Live passes called directly (no 10 s wait): incremental prompts, merged results, idempotent persist,
and the debounce of message.created over a real Redis."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from backend.analysis.live import service as live
from backend.db.engine import get_engine
from tests.analysis.helpers import busiest_conversation, db, plant_message
from tests.analysis_faults.provider import schema_responder
from tests.fakes.openai_server import FakeOpenAI, schema_in


def _conversation_in(body: dict[str, Any]) -> dict[str, Any]:
    """The conversation JSON of the rendered user message (its fenced json block)."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    return json.loads(re.search(r"```json\s*(\{.*\})\s*```", user, re.DOTALL).group(1))


def _respond(body: dict[str, Any]) -> dict[str, Any] | str:
    """Commitments: one per request, naming the request's last message (so merges can be told apart)."""
    schema = schema_in(body)
    if schema is None or "commitments" not in schema.get("properties", {}):
        return schema_responder(body)
    reply = schema_responder(body)
    last = _conversation_in(body)["messages"][-1]
    reply["commitments"][0].update(text=f"do what message {last['id']} says", message_id=last["id"],
                                   committed_by="Me", is_from_me=True, due_at=None)
    return reply


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    from backend.config import reset_settings_cache

    with FakeOpenAI(responder=_respond) as fake:
        monkeypatch.setenv("CHATSTATS_LLM_MODEL", "openai/fake-model")
        monkeypatch.setenv("CHATSTATS_LLM_API_BASE", fake.url)
        monkeypatch.setenv("CHATSTATS_LLM_API_KEY", "sk-test")
        reset_settings_cache()
        yield fake
    reset_settings_cache()


def test_second_run_sends_only_new_messages_with_the_previous_result_and_merges(imported, fake):
    engine = get_engine()
    conversation_id = busiest_conversation()
    total = db().execute("SELECT count(*) FROM messages WHERE conversation_id = ? AND kind = 'message' "
                         "AND deleted_at IS NULL AND is_unsent = 0", (conversation_id,)).fetchone()[0]

    first = live.call_live_pass(engine, conversation_id, "commitments_live")
    assert first["messages_sent"] == total > 2
    sent = _conversation_in(fake.requests[-1])
    assert len(sent["messages"]) == total and "previous_result" not in sent
    assert live.persist_live_result(engine, first) is True

    m1, _ = plant_message(conversation_id, "I'll book the table for Friday")
    m2, _ = plant_message(conversation_id, "and I will bring the cake", is_from_me=False)
    second = live.call_live_pass(engine, conversation_id, "commitments_live")
    sent = _conversation_in(fake.requests[-1])
    assert [m["id"] for m in sent["messages"]] == [m1, m2]  # only what came after the last analysed message
    assert second["messages_sent"] == 2 and second["based_on_message_id"] == first["last_message_id"]
    assert sent["previous_result"]["commitments"][0]["text"] == f"do what message {first['last_message_id']} says"
    assert live.persist_live_result(engine, second) is True

    state = dict(db().execute("SELECT * FROM live_pass_state WHERE conversation_id = ?", (conversation_id,)).fetchone())
    assert (state["last_message_id"], state["runs"], state["messages_analysed"]) == (m2, 2, total + 2)
    merged = [c["text"] for c in json.loads(state["result"])["commitments"]]
    assert merged == [f"do what message {first['last_message_id']} says", f"do what message {m2} says"]
    rows = db().execute("SELECT pass_name, count(*) FROM conversation_analyses WHERE conversation_id = ? "
                        "GROUP BY pass_name", (conversation_id,)).fetchall()
    assert [tuple(r) for r in rows] == [("commitments_live", 1)]
    commitments = [r[0] for r in db().execute("SELECT text FROM commitments WHERE conversation_id = ? ORDER BY id",
                                              (conversation_id,))]
    assert commitments == merged

    # a redelivered payload writes nothing; with nothing new there is no call at all
    calls = fake.calls["/v1/chat/completions"]
    assert live.persist_live_result(engine, second) is False
    assert live.persist_live_result(engine, first) is False
    assert live.call_live_pass(engine, conversation_id, "commitments_live") is None
    assert fake.calls["/v1/chat/completions"] == calls
    assert db().execute("SELECT runs FROM live_pass_state WHERE conversation_id = ?",
                        (conversation_id,)).fetchone()[0] == 2


def test_basic_live_merges_topics_and_keeps_one_analysis(imported, fake):
    engine = get_engine()
    conversation_id = busiest_conversation()
    assert live.persist_live_result(engine, live.call_live_pass(engine, conversation_id, "basic_live"))
    plant_message(conversation_id, "see you at the climbing gym")
    payload = live.call_live_pass(engine, conversation_id, "basic_live")
    assert payload["messages_sent"] == 1
    payload["data"]["topics"] = ["climbing"]
    assert live.persist_live_result(engine, payload)
    row = db().execute("SELECT result FROM live_pass_state WHERE conversation_id = ? AND pass_name = 'basic_live'",
                       (conversation_id,)).fetchone()
    topics = json.loads(row[0])["topics"]
    assert topics[0] == "climbing" and len(topics) > 1  # the new topic first, the earlier ones kept
    stored = db().execute("SELECT count(*) FROM conversation_analyses WHERE conversation_id = ? "
                          "AND pass_name = 'basic_live'", (conversation_id,)).fetchone()[0]
    assert stored == 1
    assert db().execute("SELECT count(*) FROM topics t JOIN conversation_analyses a ON a.id = t.analysis_id "
                        "WHERE a.pass_name = 'basic_live' AND t.topic = 'climbing'").fetchone()[0] == 1


def test_new_messages_schedule_each_enabled_live_pass_once_per_debounce_window(imported, redis_server):
    from backend.events.bus import redis_client

    engine = get_engine()
    redis = redis_client(redis_server.url)
    conversation_id = busiest_conversation()
    sent: list[tuple[int, str, float]] = []

    def send(conversation: int, pass_name: str, countdown: float) -> None:
        sent.append((conversation, pass_name, countdown))

    m1, _ = plant_message(conversation_id, "first")
    m2, _ = plant_message(conversation_id, "second")
    assert live.schedule_live_passes(engine, redis, send, message_id=m1) == ["basic_live", "commitments_live"]
    assert live.schedule_live_passes(engine, redis, send, message_id=m2) == []
    assert sent == [(conversation_id, "basic_live", 10.0), (conversation_id, "commitments_live", 10.0)]
    assert 0 < redis.ttl(live.debounce_key(conversation_id)) <= live.KEY_TTL_S

    redis.delete(live.debounce_key(conversation_id))  # what the run does first
    conn = db()
    with conn:
        conn.execute("INSERT INTO app_settings (key, value, updated_at) VALUES ('analysis.passes.basic_live.enabled', "
                     "'false', 0)")
    assert live.schedule_live_passes(engine, redis, send, message_id=m2) == ["commitments_live"]
    assert sent[-1] == (conversation_id, "commitments_live", 10.0)

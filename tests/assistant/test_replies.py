from __future__ import annotations

import json
import sqlite3

import pytest

from backend.config import get_settings
from tests.assistant.conftest import sse_events
from tests.fakes.openai_server import FakeOpenAI


def _db() -> sqlite3.Connection:
    conn = sqlite3.connect(get_settings().central_db_path)
    conn.row_factory = sqlite3.Row
    return conn


def _ask(client, content: str, **thread) -> tuple[int, int, list[dict]]:
    tid = client.post("/api/assistant/threads", json={"title": "Q", **thread}).json()["id"]
    asked = client.post(f"/api/assistant/threads/{tid}/messages", json={"content": content}).json()
    with client.stream("GET", asked["stream_url"]) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(sse_events(response))
    return tid, asked["assistant_message_id"], events


def _stored(client, tid: int, message_id: int) -> dict:
    return next(m for m in client.get(f"/api/assistant/threads/{tid}/messages").json()["messages"]
                if m["id"] == message_id)


@pytest.fixture
def fake_openai():
    with FakeOpenAI(hang_s=5) as fake:
        yield fake


def _fake_env(fake: FakeOpenAI) -> dict[str, str]:
    return {"CHATSTATS_LLM_MODEL": "openai/fake-model", "CHATSTATS_LLM_API_BASE": fake.url,
            "CHATSTATS_LLM_API_KEY": "sk-test"}


def test_tokens_stream_as_separate_events_in_order_and_the_final_text_is_stored(serve, fake_openai):
    fake_openai.responder = lambda body: "You booked the tickets [S1] for the twelfth of May."
    client = serve(**_fake_env(fake_openai))
    tid, mid, events = _ask(client, "When are the tickets for?")
    deltas = [e["data"]["delta"] for e in events if e["event"] == "text_delta"]
    assert deltas == ["You ", "booked ", "the ", "tickets ", "[S1] ", "for ", "the ", "twelfth ", "of ", "May."]
    assert [e["event"] for e in events][-1] == "final"
    final = events[-1]["data"]["message"]
    assert final["id"] == mid and final["status"] == "done" and final["model"] == "openai/fake-model"
    assert final["content"] == "".join(deltas) == "You booked the tickets [S1] for the twelfth of May."
    assert _stored(client, tid, mid)["content"] == final["content"]
    prompt = fake_openai.requests[-1]["messages"]
    assert "[prompt: eve-tools-v1]" in prompt[0]["content"]
    assert json.loads(prompt[1]["content"].split("```json", 1)[1].rsplit("```", 1)[0])["question"] == \
        "When are the tickets for?"
    thread = client.get(f"/api/assistant/threads/{tid}").json()
    assert thread["unread"] is True and thread["latest_message"]["id"] == mid
    assert client.post(f"/api/assistant/threads/{tid}/read").json()["unread"] is False


def test_a_json_reply_streams_only_its_answer_and_stores_resolved_citations(serve, fake_openai, imported):
    with _db() as conn:
        message = conn.execute("""SELECT id, text FROM messages WHERE text IS NOT NULL AND length(text) > 20
                                  ORDER BY id LIMIT 1""").fetchone()
    reply = {"answer": "Here it is: \"quoted\" [S1].", "answered": True,
             "citations": [{"source_id": "S1", "quote": message["text"][:10]}, {"source_id": "S99", "quote": "x"}]}
    fake_openai.responder = lambda body: reply
    client = serve(**_fake_env(fake_openai))
    tid, mid, events = _ask(client, message["text"])
    deltas = [e["data"]["delta"] for e in events if e["event"] == "text_delta"]
    assert len(deltas) > 1 and "".join(deltas) == reply["answer"]
    final = events[-1]["data"]["message"]
    assert final["content"] == reply["answer"]
    assert [c["source_id"] for c in final["citations"]] == ["S1"]  # S99 was not a source
    assert final["citations"][0]["message_id"] is not None


def test_offline_answer_cites_real_messages_of_the_demo_source(serve, imported):
    with _db() as conn:
        target = conn.execute("""SELECT id, chat_id, text FROM messages
                                 WHERE text IS NOT NULL AND length(text) > 30 AND is_from_me = 0
                                 ORDER BY id LIMIT 1""").fetchone()
    client = serve()  # the default model: chatstats/offline
    tid, mid, events = _ask(client, f"What did they say about {target['text']}?", chat_ids=[target["chat_id"]])
    assert [e["event"] for e in events][-1] == "final", events
    final = events[-1]["data"]["message"]
    assert final["status"] == "done" and final["model"] == "chatstats/offline"
    assert "".join(e["data"]["delta"] for e in events if e["event"] == "text_delta") == final["content"]
    cited = [c for c in final["citations"] if c["kind"] == "message"]
    assert cited, final
    with _db() as conn:
        for citation in cited:
            row = conn.execute("SELECT text, chat_id FROM messages WHERE id = ?", (citation["message_id"],)).fetchone()
            assert row is not None and citation["quote"] in row["text"]
            assert row["chat_id"] == target["chat_id"]
            assert f"[{citation['source_id']}]" in final["content"]
    assert target["id"] in [c["message_id"] for c in cited]
    stored = _stored(client, tid, mid)
    assert stored["citations"] == final["citations"]


def test_a_provider_failure_sends_an_error_event_and_marks_the_reply(serve, fake_openai):
    fake_openai.script("401")
    client = serve(**_fake_env(fake_openai))
    tid, mid, events = _ask(client, "When is the concert?")
    assert [e["event"] for e in events] == ["error"]
    assert events[0]["data"]["code"] == "llm_rejected" and events[0]["data"]["message_id"] == mid
    stored = _stored(client, tid, mid)
    assert stored["status"] == "error" and stored["error_code"] == "llm_rejected"
    # opening the stream again replays the outcome instead of calling the model twice
    calls = fake_openai.calls["/v1/chat/completions"]
    with client.stream("GET", f"/api/assistant/threads/{tid}/messages/{mid}/stream") as response:
        again = list(sse_events(response))
    assert [e["event"] for e in again] == ["error"] and fake_openai.calls["/v1/chat/completions"] == calls

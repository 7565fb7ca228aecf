"""Eve with a model: the tool loop against the fake OpenAI server speaking tool_calls, over the real API."""

from __future__ import annotations

import json
import sqlite3

import pytest

from backend.config import get_settings
from tests.assistant.conftest import sse_events
from tests.fakes.openai_server import FakeOpenAI, ToolCalls, tool_results


def _db() -> sqlite3.Connection:
    conn = sqlite3.connect(get_settings().central_db_path)
    conn.row_factory = sqlite3.Row
    return conn


@pytest.fixture
def fake():
    with FakeOpenAI(hang_s=5) as server:
        yield server


def _env(fake: FakeOpenAI, **extra: str) -> dict[str, str]:
    return {"CHATSTATS_LLM_MODEL": "openai/fake-model", "CHATSTATS_LLM_API_BASE": fake.url,
            "CHATSTATS_LLM_API_KEY": "sk-test", **extra}


def _ask(client, content: str) -> tuple[int, int, list[dict]]:
    tid = client.post("/api/assistant/threads", json={"title": "Q"}).json()["id"]
    asked = client.post(f"/api/assistant/threads/{tid}/messages", json={"content": content}).json()
    with client.stream("GET", asked["stream_url"]) as response:
        assert response.status_code == 200
        events = list(sse_events(response))
    return tid, asked["assistant_message_id"], events


def test_a_tool_call_is_run_its_result_fed_back_and_the_final_answer_cites_its_messages(serve, fake, imported):
    with _db() as conn:
        word = conn.execute("""SELECT lower(text) FROM messages WHERE text GLOB '*[a-z]*' AND length(text) > 12
                               AND kind = 'message' ORDER BY id LIMIT 1""").fetchone()[0].split()[-1].strip("?!.,")
        expected = {r[0] for r in conn.execute(
            "SELECT m.id FROM messages_fts f JOIN messages m ON m.id = f.rowid WHERE messages_fts MATCH ?",
            (f'"{word}"',))}
    assert expected

    def responder(body: dict) -> str | ToolCalls:
        results = tool_results(body)
        if not results:
            return ToolCalls([("search_messages", {"query": word, "limit": 3})])
        first = results[0]["content"]["messages"][0]["message_id"]
        return json.dumps({"answer": f"You wrote about it [M{first}].", "answered": True,
                           "citations": [{"source_id": f"M{first}", "quote": word}]})

    fake.responder = responder
    client = serve(**_env(fake))
    tid, mid, events = _ask(client, f"What did I say about {word}?")
    names = [e["event"] for e in events]
    assert names[0] == "tool_call" and names[1] == "tool_result" and names[-1] == "final", names
    call, result = events[0]["data"], events[1]["data"]
    assert call["name"] == "search_messages" and call["arguments"] == {"query": word, "limit": 3}
    assert result["ok"] is True and result["id"] == call["id"] and set(result["citations"]) <= expected
    # the second request carried the assistant's tool call and the tool's result under the same id
    second = fake.requests[-1]["messages"]
    assert second[-2]["role"] == "assistant" and second[-2]["tool_calls"][0]["id"] == call["id"]
    fed = json.loads(second[-1]["content"])
    assert second[-1]["role"] == "tool" and second[-1]["tool_call_id"] == call["id"]
    assert [m["message_id"] for m in fed["messages"]] == result["citations"]
    assert {t["function"]["name"] for t in fake.requests[0]["tools"]} >= {
        "search_messages", "top_people", "message_stats", "find_person", "list_conversations", "get_conversation",
        "conversation_analysis", "commitments", "year_review"}
    final = events[-1]["data"]["message"]
    first = result["citations"][0]
    assert final["content"] == f"You wrote about it [M{first}]." and final["status"] == "done"
    assert [(c["source_id"], c["message_id"]) for c in final["citations"]] == [(f"M{first}", first)]
    with _db() as conn:
        row = conn.execute("SELECT conversation_id, text FROM messages WHERE id = ?", (first,)).fetchone()
    assert final["citations"][0]["conversation_id"] == row["conversation_id"]
    assert final["citations"][0]["quote"] == row["text"]


def test_a_failing_tool_is_reported_to_the_model_which_then_answers(serve, fake, imported):
    def responder(body: dict) -> str | ToolCalls:
        results = tool_results(body)
        if not results:
            return ToolCalls([("get_conversation", {"id": 987654})])
        return f"I could not open it ({results[0]['content']['error']['code']})."

    fake.responder = responder
    client = serve(**_env(fake))
    _, _, events = _ask(client, "Open conversation 987654")
    result = next(e["data"] for e in events if e["event"] == "tool_result")
    assert result["ok"] is False and result["error"]["code"] == "conversation_not_found"
    assert "987654" in result["error"]["message"]
    final = events[-1]["data"]["message"]
    assert events[-1]["event"] == "final" and final["content"] == "I could not open it (conversation_not_found)."
    assert final["citations"] == []


def test_a_model_that_keeps_calling_tools_stops_at_the_step_limit(serve, fake, imported):
    fake.responder = lambda body: ToolCalls([("find_person", {"name": "a"})])
    client = serve(**_env(fake, CHATSTATS_EVE_MAX_STEPS="3"))
    tid, mid, events = _ask(client, "Loop for ever")
    assert [e["event"] for e in events].count("tool_call") == 3
    assert events[-1]["event"] == "error" and events[-1]["data"]["code"] == "step_limit"
    assert fake.calls["/v1/chat/completions"] == 3
    stored = next(m for m in client.get(f"/api/assistant/threads/{tid}/messages").json()["messages"] if m["id"] == mid)
    assert stored["status"] == "error" and stored["error_code"] == "step_limit"

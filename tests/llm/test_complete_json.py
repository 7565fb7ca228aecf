from __future__ import annotations

import json

import pytest

from backend.llm import LLMInvalidOutput, LLMPermanentError, complete_json
from tests.llm.conftest import call_rows


def test_reply_is_parsed_validated_and_logged_with_tokens(json_call, fake_openai, migrated_engine):
    result = complete_json(**json_call)

    assert result.data == {"summary": "example summary", "topics": ["example topics"], "mood": "happy"}
    assert not result.cached and result.completion_id.startswith("chatcmpl-fake-")
    request = fake_openai.requests[0]
    assert request["response_format"] == {"type": "json_object"}
    assert request["messages"][0] == json_call["messages"][0]
    assert "JSON Schema" in request["messages"][-1]["content"]  # the schema travels with the prompt
    [row] = call_rows(migrated_engine)
    assert (row["status"], row["model"], row["provider"], row["prompt_id"], row["prompt_version"], row["purpose"]) == (
        "ok", "openai/fake-model", "openai", "basic", "3", "analysis")
    assert row["tokens_in"] == result.tokens_in > 10 and row["tokens_out"] == result.tokens_out > 5
    assert row["completion_id"] == result.completion_id and len(row["request_hash"]) == 64
    assert row["error"] is None and row["latency_ms"] >= 0


def test_malformed_reply_is_repaired_once(json_call, fake_openai, migrated_engine):
    fake_openai.script("malformed")

    result = complete_json(**json_call)

    assert result.data["mood"] == "happy"
    assert fake_openai.calls["/v1/chat/completions"] == 2
    repair = fake_openai.requests[1]["messages"]
    assert repair[-2]["role"] == "assistant" and repair[-2]["content"].startswith("{")
    with pytest.raises(json.JSONDecodeError):
        json.loads(repair[-2]["content"])  # the bad output went back for repair
    assert "not valid JSON" in repair[-1]["content"]
    rows = call_rows(migrated_engine)
    assert [r["status"] for r in rows] == ["error", "ok"]
    assert rows[0]["error"].startswith("invalid output (first reply)") and rows[0]["tokens_out"] > 0
    assert result.tokens_in == rows[0]["tokens_in"] + rows[1]["tokens_in"]  # both requests were paid for


def test_schema_violation_is_repaired_with_the_validation_error(json_call, fake_openai, migrated_engine):
    replies = iter([{"summary": "ok then", "topics": [], "mood": "angry"},
                    {"summary": "ok then", "topics": ["lunch"], "mood": "neutral"}])
    fake_openai.responder = lambda body: next(replies)

    result = complete_json(**json_call)

    assert result.data == {"summary": "ok then", "topics": ["lunch"], "mood": "neutral"}
    feedback = fake_openai.requests[1]["messages"][-1]["content"]
    assert "$.mood" in feedback and "$.topics" in feedback
    assert json.loads(fake_openai.requests[1]["messages"][-2]["content"])["mood"] == "angry"


def test_the_repair_request_points_into_arrays(json_call, fake_openai, migrated_engine):
    replies = iter([{"summary": "ok then", "topics": ["lunch", 5], "mood": "neutral"},
                    {"summary": "ok then", "topics": ["lunch"], "mood": "neutral"}])
    fake_openai.responder = lambda body: next(replies)

    complete_json(**json_call)

    feedback = fake_openai.requests[1]["messages"][-1]["content"]
    assert "at $.topics[1]: 5 is not of type" in feedback


def test_reply_still_invalid_after_repair_is_permanent(json_call, fake_openai, migrated_engine):
    fake_openai.responder = lambda body: {"summary": "x"}

    with pytest.raises(LLMInvalidOutput) as caught:
        complete_json(**json_call)

    assert isinstance(caught.value, LLMPermanentError) and caught.value.code == "llm_invalid_output"
    assert fake_openai.calls["/v1/chat/completions"] == 2  # one repair, no more
    assert [r["status"] for r in call_rows(migrated_engine)] == ["error", "error"]


def test_code_fenced_json_is_accepted(json_call, fake_openai):
    fake_openai.responder = lambda body: '```json\n{"summary": "fenced", "topics": ["a"], "mood": "sad"}\n```'

    assert complete_json(**json_call).data["summary"] == "fenced"
    assert fake_openai.calls["/v1/chat/completions"] == 1


def test_second_identical_call_is_served_from_the_cache(json_call, fake_openai, migrated_engine):
    first = complete_json(**json_call)
    second = complete_json(**json_call)

    assert fake_openai.calls["/v1/chat/completions"] == 1
    assert second.cached and second.data == first.data and second.completion_id == first.completion_id
    assert (second.tokens_in, second.tokens_out, second.cost_usd) == (0, 0, 0.0)
    rows = call_rows(migrated_engine)
    assert [r["status"] for r in rows] == ["ok", "cached"]
    assert rows[1]["request_hash"] == rows[0]["request_hash"] and rows[1]["cost_usd"] == 0

    complete_json(**{**json_call, "temperature": 0.5})  # a different request misses
    complete_json(**json_call, use_cache=False)  # and use_cache=False always asks
    assert fake_openai.calls["/v1/chat/completions"] == 3


def test_invalid_schema_fails_before_any_request(json_call, fake_openai):
    with pytest.raises(LLMPermanentError, match="JSON Schema"):
        complete_json(**{**json_call, "schema": {"type": "objekt"}})
    assert fake_openai.calls["/v1/chat/completions"] == 0


def test_cost_is_logged_for_a_model_with_a_known_price(json_call, migrated_engine):
    result = complete_json(**{**json_call, "model": "openai/gpt-4o-mini"})

    assert result.cost_usd > 0
    [row] = call_rows(migrated_engine)
    assert row["cost_usd"] == pytest.approx(result.cost_usd)

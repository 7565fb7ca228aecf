from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from backend.llm import LLMPermanentError, LLMTransientError, complete_json
from backend.llm.gateway import RetryPolicy, backoff_s, parse_retry_after
from tests.llm.conftest import call_rows


def test_429_waits_for_retry_after_then_succeeds(json_call, fake_openai, migrated_engine):
    fake_openai.retry_after = "1"
    fake_openai.script("429")

    started = time.monotonic()
    result = complete_json(**json_call)
    waited = time.monotonic() - started

    assert result.data["mood"] == "happy"
    assert 1.0 <= waited < 2.5  # the fast policy alone would have waited ~0.02 s
    assert fake_openai.outcomes == {"429": 1, "ok": 1}
    rows = call_rows(migrated_engine)
    assert [r["status"] for r in rows] == ["error", "ok"]
    assert "RateLimitError" in rows[0]["error"] and rows[0]["tokens_in"] == 0


def test_retry_after_longer_than_the_policy_allows_goes_back_to_the_caller(json_call, fake_openai):
    fake_openai.retry_after = "120"
    fake_openai.script("429")

    started = time.monotonic()
    with pytest.raises(LLMTransientError) as caught:
        complete_json(**json_call)

    assert time.monotonic() - started < 1.0
    assert caught.value.retry_after_s == pytest.approx(120)  # a Celery task can retry with this countdown
    assert caught.value.code == "llm_unavailable"
    assert fake_openai.calls["/v1/chat/completions"] == 1


def test_500_is_retried_then_ok(json_call, fake_openai, migrated_engine):
    fake_openai.script("500", "500")

    assert complete_json(**json_call).data["topics"] == ["example topics"]
    assert fake_openai.calls["/v1/chat/completions"] == 3
    assert [r["status"] for r in call_rows(migrated_engine)] == ["error", "error", "ok"]


def test_exhausted_retries_raise_transient(json_call, fake_openai, migrated_engine):
    fake_openai.script("500", "500", "500", "500")

    with pytest.raises(LLMTransientError, match="after 3 attempt"):
        complete_json(**json_call)

    assert fake_openai.calls["/v1/chat/completions"] == 3  # max_attempts of the policy
    assert [r["status"] for r in call_rows(migrated_engine)] == ["error"] * 3


@pytest.mark.parametrize("outcome", ["400", "401"])
def test_permanent_errors_are_not_retried(json_call, fake_openai, migrated_engine, outcome):
    fake_openai.script(outcome)

    with pytest.raises(LLMPermanentError) as caught:
        complete_json(**json_call)

    assert not isinstance(caught.value, LLMTransientError) and caught.value.details["status"] == int(outcome)
    assert fake_openai.calls["/v1/chat/completions"] == 1
    [row] = call_rows(migrated_engine)
    assert row["status"] == "error"


def test_timeout_is_retried(json_call, fake_openai, migrated_engine):
    fake_openai.script("hang")

    started = time.monotonic()
    result = complete_json(**json_call, timeout_s=0.5)

    assert result.data["mood"] == "happy"
    assert 0.5 <= time.monotonic() - started < 3
    assert fake_openai.outcomes == {"hang": 1, "ok": 1}
    rows = call_rows(migrated_engine)
    assert [r["status"] for r in rows] == ["error", "ok"]
    assert "Timeout" in rows[0]["error"] and rows[0]["latency_ms"] >= 450


def test_retry_after_parses_seconds_and_http_dates():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    in_ten = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    assert 8.0 <= parse_retry_after(in_ten) <= 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: retry now
    assert parse_retry_after("soon") is None


def test_backoff_grows_exponentially_with_jitter_and_respects_retry_after():
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=8.0)
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (5, 8.0)):
        delays = {backoff_s(attempt, policy) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(delays) > 1
    assert backoff_s(1, policy, retry_after=3.0) >= 3.0

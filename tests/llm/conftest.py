from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from backend.db.session import fetch_all, session_scope
from tests.fakes.openai_server import FakeOpenAI

SCHEMA = {
    "type": "object",
    "properties": {
        "summary": {"type": "string", "minLength": 3},
        "topics": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "mood": {"enum": ["happy", "neutral", "sad"]},
    },
    "required": ["summary", "topics", "mood"],
    "additionalProperties": False,
}


@pytest.fixture(autouse=True)
def fresh_limits() -> Iterator[None]:
    """No limiter state (in-process AIMD levels, cached Redis clients) carries over between tests."""
    from backend.llm.limits import reset_limits

    reset_limits()
    yield
    reset_limits()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(hang_s=10) as fake:
        yield fake


@pytest.fixture
def fast_retry():
    from backend.llm.gateway import RetryPolicy

    return RetryPolicy(max_attempts=3, base_delay_s=0.02, max_delay_s=0.1, max_retry_after_s=5)


@pytest.fixture
def json_call(fake_openai: FakeOpenAI, migrated_engine: Engine, fast_retry) -> dict[str, Any]:
    """Keyword arguments of a complete_json call against the fake provider."""
    return {
        "model": "openai/fake-model", "messages": [{"role": "user", "content": "Summarise: we met at noon."}],
        "schema": SCHEMA, "prompt_id": "basic", "prompt_version": "3", "api_base": fake_openai.url,
        "api_key": "sk-test", "retry": fast_retry, "engine": migrated_engine,
    }


def call_rows(engine: Engine) -> list[dict[str, Any]]:
    """llm_calls, oldest first."""
    with session_scope(engine) as conn:
        return fetch_all(conn, "SELECT * FROM llm_calls ORDER BY id")

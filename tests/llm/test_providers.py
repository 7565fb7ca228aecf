from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from backend.llm import complete_json
from backend.llm.providers import (
    CustomLLM,
    ModelResponse,
    provider_of,
    register_provider,
    registered_providers,
    supports_json_mode,
    unregister_provider,
)
from tests.llm.conftest import SCHEMA, call_rows


class EchoAnalyzer(CustomLLM):
    """A provider in the shape of the offline analyzer: computes a reply locally."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[dict] = []

    def completion(self, *args, **kwargs) -> ModelResponse:
        self.seen.append(kwargs)
        last = kwargs["messages"][0]["content"]
        reply = {"summary": f"about: {last}", "topics": ["echo"], "mood": "neutral"}
        return ModelResponse(model=kwargs["model"], choices=[{"message": {"role": "assistant",
                                                                          "content": json.dumps(reply)}}],
                             usage={"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7})


@pytest.fixture
def echo_provider():
    handler = EchoAnalyzer()
    register_provider("echotest", handler)
    yield handler
    unregister_provider("echotest")


def test_a_registered_custom_provider_serves_its_models(echo_provider, migrated_engine):
    assert registered_providers()["echotest"] is echo_provider
    assert not supports_json_mode("echotest/offline")

    result = complete_json(model="echotest/offline", messages=[{"role": "user", "content": "lunch"}],
                           schema=SCHEMA, prompt_id="basic", prompt_version="1", engine=migrated_engine)

    assert result.data == {"summary": "about: lunch", "topics": ["echo"], "mood": "neutral"}
    assert len(echo_provider.seen) == 1
    [row] = call_rows(migrated_engine)
    assert (row["provider"], row["status"], row["tokens_in"], row["tokens_out"], row["cost_usd"]) == (
        "echotest", "ok", 3, 4, 0.0)


def test_provider_is_the_prefix_of_the_model_or_openai():
    assert provider_of("openai/gpt-4o-mini") == "openai"
    assert provider_of("ollama/llama3.1") == "ollama"
    assert provider_of("chatstats/offline") == "chatstats"
    assert provider_of("gpt-4o-mini") == "openai"
    assert supports_json_mode("openai/gpt-4o-mini")


def test_importing_the_gateway_does_not_reach_for_the_network():
    env = {k: v for k, v in os.environ.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
    code = "import backend.llm.gateway, os; print(os.environ['LITELLM_LOCAL_MODEL_COST_MAP'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"  # set by backend.llm.providers before `import litellm`

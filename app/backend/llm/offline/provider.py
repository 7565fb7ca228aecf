"""The offline analyzer as a LiteLLM custom provider: `litellm.completion(model="chatstats/offline", ...)`.

It answers completions (whole or streamed in chunks) by running `analyzer.analyze` on the messages and
returning the result as JSON text. Token counts are estimates (four characters a token) so that the
gateway's accounting has numbers; the cost is nil, and registered as such with LiteLLM. Embeddings of
the "chatstats" provider are not this module's: `embedding` says so.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from backend.llm.offline.analyzer import MODEL, analyze
from backend.llm.offline.conversation import OfflineRequestInvalid
from backend.llm.providers import (
    CustomLLM,
    GenericStreamingChunk,
    ModelResponse,
    litellm,
    register_provider,
    registered_providers,
)

PROVIDER = "chatstats"
CHUNK_CHARS = 24  # a few tokens per delta, as a model streams: replies visibly grow in the UI
MODEL_INFO = {
    "litellm_provider": PROVIDER, "mode": "chat", "input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
    "cache_creation_input_token_cost": 0.0, "cache_read_input_token_cost": 0.0,
    "max_input_tokens": 1_000_000, "max_output_tokens": 100_000, "max_tokens": 100_000,
}
_handler: OfflineProvider | None = None


class OfflineProvider(CustomLLM):
    def completion(self, *args: Any, **kwargs: Any) -> ModelResponse:
        messages = _messages(args, kwargs)
        content = _run(messages)
        response: ModelResponse = kwargs.get("model_response") or ModelResponse()
        response.model = MODEL
        response.created = int(time.time())
        response.choices[0].message.content = content
        response.choices[0].finish_reason = "stop"
        prompt_tokens, completion_tokens = _tokens(messages), _estimate(content)
        response.usage = litellm.Usage(  # type: ignore[attr-defined]
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )
        return response

    def streaming(self, *args: Any, **kwargs: Any) -> Iterator[GenericStreamingChunk]:
        messages = _messages(args, kwargs)
        content = _run(messages)
        pieces = [content[i:i + CHUNK_CHARS] for i in range(0, len(content), CHUNK_CHARS)] or [""]
        prompt_tokens, completion_tokens = _tokens(messages), _estimate(content)
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            yield {
                "text": piece, "is_finished": last, "finish_reason": "stop" if last else "",
                "index": 0, "tool_use": None,
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens} if last else None,
            }

    async def acompletion(self, *args: Any, **kwargs: Any) -> ModelResponse:
        return self.completion(*args, **kwargs)  # pure CPU and quick: no thread hop needed

    async def astreaming(  # type: ignore[override]  # LiteLLM types it as a coroutine; it iterates an async generator
        self, *args: Any, **kwargs: Any,
    ) -> AsyncIterator[GenericStreamingChunk]:
        for chunk in self.streaming(*args, **kwargs):
            yield chunk

    def embedding(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the offline analyzer does not embed; the local embedding model does")


def direct_completion(messages: list[dict[str, Any]]) -> ModelResponse:
    """The offline analyzer's reply without LiteLLM's dispatch around it (its wrapper costs more CPU than
    the analysis itself); the gateway calls this for "chatstats/..." models. Priced 0, like the provider."""
    response = register_offline_provider().completion(messages=messages, model_response=ModelResponse())
    response._hidden_params = {**(getattr(response, "_hidden_params", None) or {}), "response_cost": 0.0}
    return response


def register_offline_provider() -> OfflineProvider:
    """Route "chatstats/..." completions to the offline analyzer. Idempotent; other providers are kept."""
    global _handler  # noqa: PLW0603 - one handler per process
    if _handler is None:
        _handler = OfflineProvider()
    if registered_providers().get(PROVIDER) is not _handler:
        register_provider(PROVIDER, _handler)
        litellm.register_model({MODEL: MODEL_INFO})  # so that completion_cost() says 0 rather than raising
    return _handler


def _messages(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[dict[str, Any]]:
    messages = kwargs.get("messages", args[1] if len(args) > 1 else None)
    if not isinstance(messages, list):
        raise OfflineRequestInvalid("The offline analyzer needs chat messages.")
    return messages


def _run(messages: list[dict[str, Any]]) -> str:
    return json.dumps(analyze(messages), ensure_ascii=False)


def _tokens(messages: list[dict[str, Any]]) -> int:
    return sum(_estimate(str(m.get("content") or "")) for m in messages)


def _estimate(text: str) -> int:
    return max(1, len(text) // 4)

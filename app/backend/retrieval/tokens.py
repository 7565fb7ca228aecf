"""Token counts with LiteLLM's counter, for the model that will read the context."""

from __future__ import annotations

from functools import lru_cache

from backend.config import get_settings


def count_tokens(text: str, *, model: str | None = None) -> int:
    if not text:
        return 0
    return _count(model or get_settings().llm_model, text)


@lru_cache(maxsize=8192)
def _count(model: str, text: str) -> int:
    from backend.llm.providers import litellm  # noqa: PLC0415 - LiteLLM takes seconds to import

    return int(litellm.token_counter(model=model, text=text))

"""The LLM gateway: every completion and embedding of the backend goes through here (over LiteLLM).

    from backend.llm import complete_json, stream_text, embed, LLMTransientError, LLMPermanentError

Importing this package is cheap; LiteLLM itself is imported (by `backend.llm.providers`) on first use of
the gateway functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backend.llm.errors import LLMError, LLMInvalidOutput, LLMPermanentError, LLMTransientError

if TYPE_CHECKING:
    from backend.llm.gateway import LLMResult, RetryPolicy, Turn, complete_json, embed, stream_text, stream_turn

__all__ = [
    "LLMError", "LLMInvalidOutput", "LLMPermanentError", "LLMResult", "LLMTransientError", "RetryPolicy",
    "Turn", "complete_json", "embed", "stream_text", "stream_turn",
]

_LAZY = {"LLMResult", "RetryPolicy", "Turn", "complete_json", "embed", "stream_text", "stream_turn"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from backend.llm import gateway  # noqa: PLC0415 - imports LiteLLM, which takes seconds

        return getattr(gateway, name)
    raise AttributeError(f"module 'backend.llm' has no attribute {name!r}")

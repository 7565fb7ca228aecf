"""The built-in offline analyzer: the default model ("chatstats/offline") when no provider is configured.

It computes real results from the data (extractive summaries, entities, topics, an emotion lexicon,
humour from laugh reactions, commitments from phrasing and dates) for the prompts in app/eve/prompts/,
and labels each result with `"model": "chatstats/offline"`.

    from backend.llm.offline import register_offline_provider
    register_offline_provider()   # then litellm.completion(model="chatstats/offline", messages=...)
"""

from __future__ import annotations

from backend.llm.offline.analyzer import MODEL, analyze
from backend.llm.offline.provider import OfflineProvider, register_offline_provider

__all__ = ["MODEL", "OfflineProvider", "analyze", "register_offline_provider"]

"""Importing this registers the offline analyzer as the LiteLLM provider "chatstats" (see providers.LAZY_PROVIDERS)."""

from backend.llm.offline.provider import register_offline_provider

register_offline_provider()

"""Importing this registers the local embedding model as the LiteLLM provider "chatstats-embed"."""

from backend.vectors.provider import register_local_provider

register_local_provider()

"""METRICS.md, the one definition of every insights metric, as the API serves it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

METRICS_PATH = Path(__file__).resolve().parents[1] / "METRICS.md"


@lru_cache(maxsize=1)
def metrics_markdown() -> str:
    return METRICS_PATH.read_text(encoding="utf-8")

"""Passes are registered in code. A batch pass runs once per (conversation, pass, prompt version,
conversation revision) after the conversation is sealed; live passes follow new messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

PassFunction = Callable[[Engine, int], dict[str, Any]]


@dataclass(frozen=True)
class AnalysisPass:
    name: str
    kind: str  # "batch" | "live"
    prompt_id: str
    prompt_version: str
    run: PassFunction


_PASSES: dict[str, AnalysisPass] = {}


def register(analysis_pass: AnalysisPass) -> AnalysisPass:
    _PASSES[analysis_pass.name] = analysis_pass
    return analysis_pass


def get(name: str) -> AnalysisPass:
    return _PASSES[name]


def batch_passes() -> list[AnalysisPass]:
    _load_builtins()
    return [p for p in _PASSES.values() if p.kind == "batch"]


def _load_builtins() -> None:
    import backend.analysis.builtin  # noqa: F401, PLC0415 - registers on import

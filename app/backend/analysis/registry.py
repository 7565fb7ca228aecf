"""Passes are registered in code. A batch pass runs once per (conversation, pass, prompt version,
conversation revision) after the conversation is sealed; live passes follow new messages.

A pass either runs locally (`run`: reads SQLite, returns the job's result) or through a model (`findings`:
the prompt `prompt_id` is rendered over the conversation, the model's JSON goes to `findings`, which
turns it into the rows `persist` writes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

PassFunction = Callable[[Engine, int], dict[str, Any]]


@dataclass(frozen=True)
class FindingsContext:
    """What turning a model's reply into rows needs to know about the conversation."""

    conversation_id: int
    chat_id: int
    contact_ids: dict[str, int | None]  # participant name -> contact id
    message_ids: frozenset[int]  # the conversation's messages (ids a model returns are checked against them)

    def message_id(self, value: Any) -> int | None:
        try:
            number = int(value)
        except (TypeError, ValueError):
            return None
        return number if number in self.message_ids else None


@dataclass
class Findings:
    """Rows of one pass over one conversation (each a dict of column values, ids filled in on insert)."""

    summary: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    topics: list[dict[str, Any]] = field(default_factory=list)
    emotions: list[dict[str, Any]] = field(default_factory=list)
    humor_items: list[dict[str, Any]] = field(default_factory=list)
    commitments: list[dict[str, Any]] = field(default_factory=list)


FindingsFunction = Callable[[dict[str, Any], FindingsContext], Findings]


@dataclass(frozen=True)
class AnalysisPass:
    name: str
    kind: str  # "batch" | "live"
    prompt_id: str
    prompt_version: str
    run: PassFunction | None = None  # a local pass
    findings: FindingsFunction | None = None  # a model pass
    pack_id: str | None = None  # the context pack whose message budget windows long conversations
    reconciles: bool = False  # also asks commitment-reconciliation-v1 about the chat's earlier open commitments

    @property
    def uses_llm(self) -> bool:
        return self.run is None

    @property
    def setting_key(self) -> str:
        return f"analysis.passes.{self.name}.enabled"


_PASSES: dict[str, AnalysisPass] = {}


def register(analysis_pass: AnalysisPass) -> AnalysisPass:
    if (analysis_pass.run is None) == (analysis_pass.findings is None):
        raise ValueError(f"pass {analysis_pass.name} needs exactly one of run (local) or findings (model)")
    _PASSES[analysis_pass.name] = analysis_pass
    return analysis_pass


def get(name: str) -> AnalysisPass:
    _load_builtins()
    return _PASSES[name]


def batch_passes() -> list[AnalysisPass]:
    _load_builtins()
    return [p for p in _PASSES.values() if p.kind == "batch"]


def _load_builtins() -> None:
    import backend.analysis.builtin  # noqa: PLC0415 - registers on import
    import backend.analysis.passes  # noqa: F401, PLC0415 - registers on import

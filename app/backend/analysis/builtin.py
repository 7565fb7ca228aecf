"""The built-in batch pass that proves the pipeline end to end: message statistics of a conversation.

It reads only SQLite and needs no model; the analysis issue adds the LLM passes next to it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from backend.analysis import repo
from backend.analysis.registry import AnalysisPass, register
from backend.db.session import session_scope


def conversation_stats(engine: Engine, conversation_id: int) -> dict[str, Any]:
    with session_scope(engine) as conn:
        return repo.conversation_stats(conn, conversation_id=conversation_id)


STATS_PASS = register(AnalysisPass(
    name="conversation_stats", kind="batch", prompt_id="builtin-stats", prompt_version="1", run=conversation_stats,
))

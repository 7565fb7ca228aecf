"""EventBus handlers of search: a sealed conversation gets its chunks embedded, a persisted analysis its vector."""

from __future__ import annotations

from typing import Any

from backend.events.handlers import handles
from backend.worker.celery_app import app


@handles("conversation.sealed")
def embed_when_sealed(payload: dict[str, Any]) -> None:
    app.send_task("index.embed_conversations", args=[[payload["conversation_id"]]])


@handles("analysis.job_done")
def embed_analysis_when_done(payload: dict[str, Any]) -> None:
    app.send_task("index.embed_analyses", args=[[payload["conversation_id"]]])

"""EventBus handlers of analysis."""

from __future__ import annotations

from typing import Any

from backend.events.handlers import handles
from backend.worker import task_refs
from backend.worker.celery_app import app


@handles("conversation.ready_for_analysis")
def enqueue_batch_passes(payload: dict[str, Any]) -> None:
    task_refs.ENQUEUE_BATCH_PASSES.send(app, payload["conversation_id"], payload["revision"])

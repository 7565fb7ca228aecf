"""EventBus handlers of analysis."""

from __future__ import annotations

from backend.events.handlers import handles
from backend.events.types import ConversationReadyForAnalysis
from backend.worker import task_refs
from backend.worker.celery_app import app


@handles(ConversationReadyForAnalysis)
def enqueue_batch_passes(event: ConversationReadyForAnalysis) -> None:
    task_refs.ENQUEUE_BATCH_PASSES.send(app, event.conversation_id, event.revision)

"""EventBus handlers of conversations."""

from __future__ import annotations

from backend.events.handlers import handles
from backend.events.types import ConversationSealed
from backend.worker import task_refs
from backend.worker.celery_app import app


@handles(ConversationSealed)
def finalize_when_sealed(event: ConversationSealed) -> None:
    task_refs.FINALIZE_CONVERSATION.send(app, event.conversation_id, event.revision)

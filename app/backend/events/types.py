"""Events are frozen dataclasses with a registered name, carrying ids, not rows."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar, dataclass_transform

E = TypeVar("E")
_REGISTRY: dict[str, type] = {}


@dataclass_transform(frozen_default=True)
def event(name: str) -> Callable[[type[E]], type[E]]:
    """Register a frozen dataclass as the event called `name`."""

    def register(cls: type[E]) -> type[E]:
        if name in _REGISTRY:
            raise ValueError(f"event name {name!r} registered twice")
        cls = dataclasses.dataclass(frozen=True, slots=True)(cls)
        cls.name = name  # type: ignore[attr-defined]
        _REGISTRY[name] = cls
        return cls

    return register


def to_payload(evt: Any) -> dict[str, Any]:
    return dataclasses.asdict(evt)


@event("message.created")
class MessageCreated:
    name: ClassVar[str]
    message_id: int
    chat_id: int
    conversation_id: int | None = None


@event("message.updated")
class MessageUpdated:
    """Edited, unsent, read, delivered, reacted to, deleted, or its body arrived late."""

    name: ClassVar[str]
    message_id: int
    chat_id: int


@event("chat.updated")
class ChatUpdated:
    name: ClassVar[str]
    chat_id: int


@event("contact.updated")
class ContactUpdated:
    name: ClassVar[str]
    contact_id: int


@event("conversation.updated")
class ConversationUpdated:
    name: ClassVar[str]
    conversation_id: int
    chat_id: int


@event("source.reconciled")
class SourceReconciled:
    """The source was rebuilt (its ROWIDs went backwards); the mirror was reconciled by guid."""

    name: ClassVar[str]
    previous_cursor: int
    new_cursor: int


@event("conversation.sealed")
class ConversationSealed:
    """Its last message is older than the conversation gap: no more messages will join it."""

    name: ClassVar[str]
    conversation_id: int
    chat_id: int
    revision: int


@event("conversation.ready_for_analysis")
class ConversationReadyForAnalysis:
    name: ClassVar[str]
    conversation_id: int
    revision: int


@event("analysis.job_done")
class AnalysisJobDone:
    """A pass's results of a conversation were written (job_id None: a live pass, which has no job)."""

    name: ClassVar[str]
    job_id: int | None
    conversation_id: int
    pass_name: str

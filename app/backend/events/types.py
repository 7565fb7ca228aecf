"""Events are frozen dataclasses with a registered name, carrying ids, not rows."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar, dataclass_transform

from backend.errors import BackendError

E = TypeVar("E")
_REGISTRY: dict[str, type] = {}


class MalformedEvent(BackendError):
    """A stream entry that is no event this code knows: an unknown name, a missing field, a value of the wrong
    type. Delivering it again cannot help; the consumer records it as a permanent failure, with this reason
    (a 4xx domain error: the task base class abandons it at once too)."""

    status_code = 422
    code = "malformed_event"


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


def event_class(name: str) -> type | None:
    return _REGISTRY.get(name)


def from_payload(name: str, payload: Any) -> Any:
    """The typed event of a stored payload (the inverse of `to_payload`); raises MalformedEvent with the reason.

    Keys the class does not have are ignored (a newer writer may add fields); a missing field without a default,
    or a value not of the field's type (bool is not an int here), is malformed.
    """
    cls = _REGISTRY.get(name)
    if cls is None:
        raise MalformedEvent(f"unknown event {name!r}")
    if not isinstance(payload, dict):
        raise MalformedEvent(f"{name}: payload is {type(payload).__name__}, not an object")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        if field.name not in payload:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise MalformedEvent(f"{name}: missing field {field.name!r}")
            continue
        value, hint = payload[field.name], hints[field.name]
        if not _is_instance(value, hint):
            raise MalformedEvent(f"{name}: field {field.name!r} is {_short(value)}, not {_type_name(hint)}")
        values[field.name] = value
    return cls(**values)


def _is_instance(value: Any, hint: Any) -> bool:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_is_instance(value, arm) for arm in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    origin = typing.get_origin(hint) or hint
    return isinstance(value, origin)


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint)


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

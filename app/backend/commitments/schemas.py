from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

Status = Literal["active", "complete", "cancelled", "snoozed"]
StatusFilter = Literal["active", "complete", "cancelled", "snoozed", "all"]


class CommitmentEvent(BaseModel):
    id: int
    event: str  # created | updated | completed | cancelled | snoozed | reopened
    at: int
    details: dict[str, Any]


class Commitment(BaseModel):
    id: int
    chat_id: int
    conversation_id: int | None
    message_id: int | None
    message_text: str | None  # the message the promise was made in
    message_sent_at: int | None
    committed_by: str
    committer_contact_id: int | None
    is_from_me: bool
    committed_to: list[Any]
    text: str
    due_at: int | None
    due_text: str | None
    confidence: float | None
    status: Status  # effective: a snooze that has run out reads 'active'
    snoozed_until: int | None  # only while snoozed
    created_at: int
    updated_at: int


class CommitmentDetail(Commitment):
    events: list[CommitmentEvent]  # oldest first


class CommitmentList(BaseModel):
    commitments: list[Commitment]


class SnoozeRequest(BaseModel):
    until: int  # unix ms, in the future

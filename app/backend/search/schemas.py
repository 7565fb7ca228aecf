"""What search returns."""

from __future__ import annotations

from pydantic import BaseModel


class MatchedMessage(BaseModel):
    id: int
    guid: str
    text: str | None
    sent_at: int
    sender: str | None
    sender_contact_id: int | None
    is_from_me: bool


class SearchHit(BaseModel):
    conversation_id: int
    chat_id: int | None
    score: float  # reciprocal-rank fusion score (k=60)
    sources: list[str]  # "fts", "vector"
    messages: list[MatchedMessage]


class SearchResults(BaseModel):
    q: str
    mode: str
    results: list[SearchHit]

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


class MessageHit(BaseModel):
    id: int
    guid: str
    chat_id: int
    chat_name: str | None
    conversation_id: int | None
    text: str | None
    sent_at: int
    sender: str | None
    sender_contact_id: int | None
    is_from_me: bool
    has_attachments: bool
    matched: bool  # False: matches some of the terms, or is near the query in meaning, or `partial`
    partial: bool = False  # holds the words only inside longer words (listed after every word match)
    highlights: list[list[int]]  # [start, end) in code points of `text`


class SearchTerms(BaseModel):
    words: list[str]  # matched as prefixes
    phrases: list[str]
    symbols: list[str]


class MessageSearchResults(BaseModel):
    q: str
    sort: str
    mode: str
    offset: int
    limit: int
    total: int  # messages matching the full-text part of the query and its filters, exactly
    related: int  # messages in the relevance order that `total` does not count: some terms, or near in meaning
    partial: int = 0  # messages holding the words only inside longer words, exactly; counted and listed after the
    #                   word matches when those are fewer than message_search.PARTIAL_BELOW
    results: list[MessageHit]
    terms: SearchTerms
    filters: dict[str, object]

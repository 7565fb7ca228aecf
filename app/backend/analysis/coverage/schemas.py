"""Pydantic I/O of analysis coverage."""

from __future__ import annotations

from pydantic import BaseModel


class Counts(BaseModel):
    total: int  # analysable conversations (sealed, closed or historic, with messages)
    analysed: int  # every current batch pass done at the current revision
    stale: int  # not analysed now, but analysed by an older prompt version or revision
    remaining: int  # total - analysed


class ChatCoverage(Counts):
    chat_id: int


class ContactCoverage(Counts):
    contact_id: int


class Coverage(Counts):
    passes: dict[str, str]  # pass -> current prompt version
    active_run_ids: list[int]  # runs queued or running now


class CoverageList(BaseModel):
    chats: list[ChatCoverage] = []
    contacts: list[ContactCoverage] = []

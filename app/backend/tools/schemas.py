"""Arguments and results of the tools: strict pydantic models (their JSON Schemas are what a model sees).

Every result carries `citations`: the messages and conversations it rests on, by id.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Preset = Literal["30d", "this_year", "last_year", "all"]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Cite(BaseModel):
    message_id: int | None = None
    conversation_id: int | None = None
    chat_id: int | None = None
    sent_at: int | None = None  # unix ms
    sender: str | None = None
    text: str | None = None  # the message's words (left out under the aggregate privacy setting)


class _Result(BaseModel):
    citations: list[Cite] = Field(default_factory=list)


class PeriodArg(_Args):
    preset: Preset | None = Field(None, description="A named period; leave empty when since/until are given.")
    since: str | None = Field(None, description="Start date, ISO 8601 (YYYY-MM-DD), inclusive.")
    until: str | None = Field(None, description="End date, ISO 8601 (YYYY-MM-DD), inclusive.")


class PeriodOut(BaseModel):
    label: str
    since_ms: int | None
    until_ms: int | None


# ---- search_messages ----------------------------------------------------------------------------

class SearchArgs(_Args):
    query: str = Field(min_length=1, max_length=500, description="Words to look for in messages.")
    person: str | None = Field(None, description="Only messages sent by this person (a name).")
    chat: int | None = Field(None, description="Only this chat id.")
    since: str | None = Field(None, description="ISO date (YYYY-MM-DD), inclusive.")
    until: str | None = Field(None, description="ISO date (YYYY-MM-DD), inclusive.")
    limit: int = Field(10, ge=1, le=50)


class FoundMessage(BaseModel):
    message_id: int
    conversation_id: int | None
    chat_id: int
    sent_at: int
    sender: str
    sender_contact_id: int | None
    is_from_me: bool
    text: str | None
    matched: bool = True  # False: related by meaning, without the words


class SearchResult(_Result):
    query: str
    person: str | None
    total: int  # messages that contain the words
    messages: list[FoundMessage]


# ---- people --------------------------------------------------------------------------------------

class FindPersonArgs(_Args):
    name: str = Field(min_length=1, max_length=200, description="A name, nickname, phone number or email.")


class PersonMatch(BaseModel):
    contact_id: int
    name: str
    chat_id: int | None  # the one-to-one chat with this person, if any
    messages: int  # messages in that chat (both directions)
    last_message_at: int | None


class FindPersonResult(_Result):
    query: str
    matches: list[PersonMatch]


class TopPeopleArgs(_Args):
    period: Preset = Field("30d", description="Over which period to rank.")
    since: str | None = Field(None, description="ISO date; overrides period.")
    until: str | None = Field(None, description="ISO date, inclusive.")
    limit: int = Field(10, ge=1, le=50)


class RankedPerson(BaseModel):
    contact_id: int
    name: str
    messages: int
    sent: int
    received: int
    share: float
    first_message_at: int | None
    last_message_at: int | None


class TopPeopleResult(_Result):
    period: PeriodOut
    people: list[RankedPerson]


class MessageStatsArgs(_Args):
    person: str | None = Field(None, description="A person's name (or use chat).")
    chat: int | None = Field(None, description="A chat id (or use person).")
    period: Preset = "all"
    since: str | None = None
    until: str | None = None


class MessageStatsResult(_Result):
    period: PeriodOut
    contact_id: int | None
    chat_id: int | None
    name: str
    messages: int
    sent: int
    received: int
    first_message_at: int | None
    last_message_at: int | None
    started_by_me: int | None = None
    started_by_them: int | None = None
    share_started_by_me: float | None = None


class YearReviewArgs(_Args):
    year: int = Field(ge=2000, le=2100)


class YearReviewResult(_Result):
    year: int
    messages: int
    sent: int
    received: int
    top_people: list[RankedPerson]
    details: dict[str, object] = Field(default_factory=dict)


# ---- conversations ------------------------------------------------------------------------------

class ListConversationsArgs(_Args):
    chat: int | None = Field(None, description="A chat id (or use person).")
    person: str | None = Field(None, description="A person's name: their one-to-one chat.")
    since: str | None = None
    until: str | None = None
    limit: int = Field(20, ge=1, le=100)


class ConversationItem(BaseModel):
    conversation_id: int
    chat_id: int
    started_at: int
    last_message_at: int
    message_count: int
    summary: str | None
    first_message_id: int | None
    first_text: str | None


class ListConversationsResult(_Result):
    chat_id: int | None
    name: str | None
    total: int
    messages: int
    conversations: list[ConversationItem]


class GetConversationArgs(_Args):
    id: int = Field(description="A conversation id.")
    limit: int = Field(200, ge=1, le=1000)


class ConversationMessage(BaseModel):
    message_id: int
    sent_at: int
    sender: str
    is_from_me: bool
    text: str | None


class GetConversationResult(_Result):
    conversation_id: int
    chat_id: int
    started_at: int
    last_message_at: int
    message_count: int
    messages: list[ConversationMessage]


class ConversationAnalysisArgs(_Args):
    id: int = Field(description="A conversation id.")


class ConversationAnalysisResult(_Result):
    conversation_id: int
    analysed: bool
    summary: str | None
    topics: list[str]
    commitments: list[str]
    model: str | None


class CommitmentsArgs(_Args):
    status: Literal["active", "complete", "cancelled", "snoozed", "all"] = "active"
    by: Literal["me", "them", "anyone"] = Field("anyone", description="me: promises I made; them: made to me.")
    limit: int = Field(20, ge=1, le=100)


class CommitmentItem(BaseModel):
    commitment_id: int
    text: str | None
    committed_by: str
    is_from_me: bool
    status: str
    due_at: int | None
    due_text: str | None
    chat_id: int
    conversation_id: int | None
    message_id: int | None


class CommitmentsResult(_Result):
    status: str
    by: str
    total: int
    commitments: list[CommitmentItem]

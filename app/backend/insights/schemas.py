from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

Bucket = Literal["day", "week"]


class ConversationSummary(BaseModel):
    conversation_id: int
    started_at: int
    last_message_at: int
    message_count: int
    pass_name: str  # the pass whose summary this is
    model: str | None
    summary: str


class TopicWeight(BaseModel):
    topic: str
    weight: float  # summed over the chat's analysed conversations
    conversations: int  # how many of them mention it


class EmotionScore(BaseModel):
    emotion: str
    score: float  # mean over the conversations where it was scored
    conversations: int


class ParticipantEmotions(BaseModel):
    participant: str  # as the analysis named them ("Me" for the user)
    contact_id: int | None
    emotions: list[EmotionScore]  # strongest first


class EntityCount(BaseModel):
    kind: str
    text: str
    mentions: int
    conversations: int


class HumorItem(BaseModel):
    id: int
    conversation_id: int
    message_id: int | None
    participant: str
    contact_id: int | None
    text: str  # what the analysis quoted
    message_text: str | None  # the message itself
    sent_at: int | None
    reason: list[Any]
    laughed_by: list[Any]


class ActivityBucket(BaseModel):
    bucket: str  # the UTC date that starts the day or week (weeks start on Monday)
    messages: int
    sent: int  # of them, sent by the user


class ChatInsights(BaseModel):
    chat_id: int
    summaries: list[ConversationSummary]  # most recent analysed conversations first
    topics: list[TopicWeight]
    emotions: list[ParticipantEmotions]
    entities: list[EntityCount]
    humor: list[HumorItem]
    bucket: Bucket
    activity: list[ActivityBucket]  # oldest first


class RankedChat(BaseModel):
    chat_id: int
    name: str  # the chat's own name, else its participants
    is_group: bool
    messages: int  # visible messages since `since`
    sent: int
    received: int
    last_message_at: int


class RankedChats(BaseModel):
    rank: Literal["volume"]
    since: int
    chats: list[RankedChat]


class Entity(BaseModel):
    id: int
    message_id: int | None
    participant: str
    contact_id: int | None
    kind: str
    text: str
    value: str | None
    mentions: int


class Topic(BaseModel):
    id: int
    participant: str | None  # None: a topic of the whole conversation
    contact_id: int | None
    topic: str
    weight: float


class Emotion(BaseModel):
    id: int
    participant: str
    contact_id: int | None
    emotion: str
    score: float


class Analysis(BaseModel):
    id: int
    pass_name: str
    model: str | None
    prompt_id: str
    prompt_version: str
    revision: int
    status: str
    summary: str | None
    result: Any
    tokens_in: int
    tokens_out: int
    cost_usd: float
    created_at: int
    updated_at: int
    entities: list[Entity]
    topics: list[Topic]
    emotions: list[Emotion]
    humor: list[HumorItem]


class ConversationInsights(BaseModel):
    conversation_id: int
    chat_id: int
    started_at: int
    last_message_at: int
    message_count: int
    state: str
    analyses: list[Analysis]  # one per pass, by pass name

"""Pydantic shapes of the insights statistics. Times are unix ms; local dates are ISO strings in the user's zone.
Each field's meaning is defined once in app/backend/insights/METRICS.md."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

StatsBucket = Literal["day", "week", "month"]


class PeriodOut(BaseModel):
    label: str
    preset: str | None
    since_ms: int | None
    until_ms: int | None
    timezone: str


class MessageCounts(BaseModel):
    total: int = 0
    sent: int = 0
    received: int = 0


class ReactionKind(BaseModel):
    kind: str  # love, like, dislike, laugh, emphasize, question, emoji, sticker
    emoji: str  # the emoji of an emoji tapback ('' for the classic ones and stickers)
    given: int
    received: int


class ReactedMessage(BaseModel):
    message_id: int
    chat_id: int
    is_from_me: bool
    sent_at: int
    text: str | None
    reactions: int


class ReactionStats(BaseModel):
    given: int = 0
    received: int = 0
    by_kind: list[ReactionKind] = Field(default_factory=list)
    most_reacted: list[ReactedMessage] = Field(default_factory=list)


class ActivityPoint(BaseModel):
    bucket: str  # local date starting the day, week (Monday) or month
    start_ms: int | None = None  # the bucket as a time range (for the messages behind a bar)
    end_ms: int | None = None
    messages: int
    sent: int
    received: int


class Activity(BaseModel):
    bucket: StatsBucket
    points: list[ActivityPoint]  # oldest first; buckets without messages left out


class Heatmap(BaseModel):
    cells: list[list[int]]  # [weekday 0=Monday..6][local hour 0..23] -> messages
    max: int


class Streaks(BaseModel):
    longest: int = 0  # days
    longest_start: str | None = None
    longest_end: str | None = None
    current: int = 0
    active_days: int = 0


class LengthStats(BaseModel):
    mine_avg_chars: float | None = None
    theirs_avg_chars: float | None = None


class Initiations(BaseModel):
    me: int = 0
    them: int = 0
    share_me: float | None = None


class ResponseTimes(BaseModel):
    mine_median_s: float | None = None
    mine_p90_s: float | None = None
    mine_count: int = 0
    theirs_median_s: float | None = None
    theirs_p90_s: float | None = None
    theirs_count: int = 0


class Count(BaseModel):
    value: str
    count: int


class PersonRank(BaseModel):
    contact_id: int
    name: str
    messages: int
    sent: int
    received: int
    share: float  # of all one-to-one messages in the period
    first_message_at: int
    last_message_at: int
    previous_messages: int | None = None  # same-length period right before; None for all time
    trend: float | None = None  # (messages - previous) / previous; None when previous is 0 or unknown
    chat_ids: list[int] = Field(default_factory=list)


class Overview(BaseModel):
    period: PeriodOut
    messages: MessageCounts
    reactions: ReactionStats
    chats: int
    group_chats: int
    people: int
    first_message_at: int | None
    last_message_at: int | None
    top_people: list[PersonRank]
    top_groups: list[GroupRank] = Field(default_factory=list)
    activity: Activity
    heatmap: Heatmap
    streaks: Streaks
    initiations: Initiations
    late_night_share: float | None


class PersonStats(BaseModel):
    period: PeriodOut
    contact_id: int
    name: str
    chat_ids: list[int]
    messages: MessageCounts
    share: float | None  # of all one-to-one messages in the period
    group_messages: int  # messages they wrote in group chats
    first_message_at: int | None
    last_message_at: int | None
    initiations: Initiations
    response_times: ResponseTimes
    streaks: Streaks
    late_night_share: float | None
    length: LengthStats
    top_emoji: list[Count]
    top_words: list[Count]
    top_emoji_mine: list[Count]
    top_emoji_theirs: list[Count]
    reactions: ReactionStats
    activity: Activity
    heatmap: Heatmap


class GroupRank(BaseModel):
    chat_id: int
    name: str
    messages: int
    sent: int
    members: int


class MemberShare(BaseModel):
    contact_id: int | None  # None: the user
    name: str
    is_me: bool
    messages: int
    share: float
    reactions_given: int
    reactions_received: int


class ReplyEdge(BaseModel):
    from_contact_id: int | None  # the one who replied (None: the user)
    from_name: str
    to_contact_id: int | None  # the one replied to
    to_name: str
    replies: int


class ChatStats(BaseModel):
    period: PeriodOut
    chat_id: int
    name: str
    is_group: bool
    messages: MessageCounts
    first_message_at: int | None
    last_message_at: int | None
    members: list[MemberShare]  # most messages first
    loudest: MemberShare | None
    quietest: MemberShare | None
    replies: list[ReplyEdge]  # most first
    initiations: Initiations
    streaks: Streaks
    top_emoji: list[Count]
    top_words: list[Count]
    reactions: ReactionStats
    activity: Activity
    heatmap: Heatmap


class BusiestDay(BaseModel):
    day: str
    messages: int


class LongestConversation(BaseModel):
    conversation_id: int
    chat_id: int
    name: str
    started_at: int
    last_message_at: int
    messages: int


class NewPerson(BaseModel):
    contact_id: int
    name: str
    first_message_at: int
    messages: int


class YearChange(BaseModel):
    messages: int | None  # previous year's total (None: no messages that year)
    messages_change: float | None  # relative change
    people: int | None
    people_change: float | None


class YearReview(BaseModel):
    year: int
    period: PeriodOut
    messages: MessageCounts
    people: int
    chats: int
    top_people: list[PersonRank]
    busiest_day: BusiestDay | None
    new_people: list[NewPerson]
    longest_conversation: LongestConversation | None
    top_emoji: list[Count]
    top_words: list[Count]
    streaks: Streaks
    reactions: ReactionStats
    activity: Activity  # per month
    heatmap: Heatmap
    previous_year: YearChange
    years: list[int]  # every year with messages, for navigation


class DrillMessage(BaseModel):
    message_id: int
    chat_id: int
    chat_name: str
    sent_at: int
    is_from_me: bool
    sender: str  # "Me", the sender's name, or "Unknown"
    text: str | None


class DrillDown(BaseModel):
    messages: list[DrillMessage]  # oldest first
    truncated: bool  # more messages match than were returned


class YearList(BaseModel):
    years: list[int]


class MetricsDoc(BaseModel):
    markdown: str


Overview.model_rebuild()

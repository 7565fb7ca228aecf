from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Citation(BaseModel):
    source_id: str
    quote: str
    kind: str | None = None
    message_id: int | None = None
    conversation_id: int | None = None
    sender: str | None = None
    sent_at: str | None = None


class Message(BaseModel):
    id: int
    thread_id: int
    role: Literal["user", "assistant"]
    content: str
    status: Literal["pending", "streaming", "done", "error"]
    model: str | None
    citations: list[Citation]
    error_code: str | None = None
    created_at: int


class ThreadContext(BaseModel):
    chat_ids: list[int] = Field(default_factory=list)
    contact_ids: list[int] = Field(default_factory=list)


class Thread(BaseModel):
    id: int
    title: str
    created_at: int
    updated_at: int
    last_read_at: int | None
    unread: bool
    latest_message: Message | None = None


class ThreadList(BaseModel):
    threads: list[Thread]


class MessageList(BaseModel):
    messages: list[Message]


class ThreadCreate(_In):
    title: str = Field("New chat", min_length=1, max_length=200)
    chat_ids: list[int] = Field(default_factory=list)
    contact_ids: list[int] = Field(default_factory=list)


class ThreadRename(_In):
    title: str = Field(min_length=1, max_length=200)


class ContextSet(_In):
    chat_ids: list[int] = Field(default_factory=list)
    contact_ids: list[int] = Field(default_factory=list)


class Ask(_In):
    content: str = Field(min_length=1, max_length=8000)


class Asked(BaseModel):
    user_message: Message
    assistant_message_id: int
    stream_url: str


class Document(BaseModel):
    id: int
    thread_id: int
    title: str
    version: int
    content: str
    created_at: int
    read_at: int | None
    context: ThreadContext


class DocumentList(BaseModel):
    documents: list[Document]


class DocumentSave(_In):
    title: str = Field(min_length=1, max_length=200)
    content: str = Field(max_length=200_000)

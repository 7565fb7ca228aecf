from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

FailedTaskStatus = Literal["pending", "replaying", "resolved", "abandoned"]
PurgeScope = Literal["resolved", "abandoned", "all"]


class FailedTask(BaseModel):
    id: int
    task_id: str
    task_name: str
    queue: str | None
    args: list[Any]
    kwargs: dict[str, Any]
    reason: str
    attempts: int
    status: FailedTaskStatus
    first_failed_at: int  # unix ms
    last_failed_at: int
    next_retry_at: int | None  # pending: next automatic replay; replaying: when an unanswered replay is re-sent


class FailedTaskList(BaseModel):
    items: list[FailedTask]
    counts: dict[str, int]  # rows per status, over the whole ledger


class PurgeResult(BaseModel):
    deleted: int

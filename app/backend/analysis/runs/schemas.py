"""Pydantic I/O of analysis runs: the estimate, a run request, a run."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Scope = Literal["onboarding", "history", "all", "chat", "since"]
RunStatus = Literal["queued", "running", "done", "cancelled"]


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Scope
    chat_id: int | None = Field(None, description="scope chat: the chat whose conversations to analyse")
    since: date | None = Field(None, description="scope since: conversations with messages on or after this day")
    passes: list[str] | None = Field(None, description="batch passes to run (default: every enabled one)")
    confirm: bool = Field(default=False, description="queue the run even when it has more jobs than the configured "
                                             "limit (analysis_confirm_jobs_over); without it such a run is 409")


class Estimate(BaseModel):
    scope: Scope
    conversations: int
    passes: list[str]  # every pass the run runs
    prompt_passes: list[str]  # the ones that call the model
    jobs: int  # conversations x passes
    calls: int  # conversations x prompt passes
    tokens_in: int
    tokens_out: int
    cost_usd: float | None  # None when the model's price is unknown; 0 for the offline analyzer
    model: str


class Run(BaseModel):
    id: int
    scope: Scope
    params: dict[str, Any]
    status: RunStatus
    total: int
    done: int
    failed: int
    estimate_tokens: int | None
    estimate_cost_usd: float | None
    created_at: int
    updated_at: int
    finished_at: int | None


class RunList(BaseModel):
    runs: list[Run]


class CreatedRun(BaseModel):
    run: Run
    estimate: Estimate


OnboardingStatus = Literal["not_started", "awaiting_consent", "declined", "started"]


class Onboarding(BaseModel):
    """The history analysis after the first import: started at once by a local model, else awaiting the
    user's consent to the estimate (or declined)."""

    status: OnboardingStatus
    model: str | None
    run: Run | None  # the history run once started
    estimate: Estimate | None  # what the user is asked to accept (awaiting_consent, declined)

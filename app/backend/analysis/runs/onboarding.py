"""Onboarding: after the first import, the whole history is analysed in the background, newest first.

A local model (the offline analyzer, an Ollama model, a server on this machine) starts at once; a paid
provider waits until the user accepts the estimate (`accept`). The decision is stored once in the settings
table under `analysis.onboarding`, so a restart neither asks again nor starts a second run:

    {"status": "started", "run_id": 7, "model": "chatstats/offline"}
    {"status": "awaiting_consent", "model": "gpt-4o-mini"}
    {"status": "declined", "model": "gpt-4o-mini"}
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import redis
from sqlalchemy import Connection, Engine

from backend.analysis.runs import repo as runs_repo
from backend.analysis.runs import service as runs
from backend.analysis.runs.schemas import CreatedRun, Onboarding, RunRequest
from backend.config import OFFLINE_LLM_MODEL
from backend.db.session import run_write, session_scope
from backend.errors import BackendError
from backend.settings import repo as settings_repo

log = logging.getLogger(__name__)

KEY = "analysis.onboarding"
LOCAL_PROVIDERS = frozenset({OFFLINE_LLM_MODEL.split("/", 1)[0], "ollama", "ollama_chat", "lm_studio", "llamafile"})
HISTORY = RunRequest(scope="history", chat_id=None, since=None, passes=None)


class NothingToAccept(BackendError):
    status_code = 409
    code = "onboarding_not_awaiting_consent"


def is_local_model(model: str) -> bool:
    """Does this model run on this machine, free (the offline analyzer, Ollama, LM Studio, llamafile)?

    Decided by the provider: an OpenAI-compatible server is asked for consent even on loopback (it may be
    a proxy to a paid service)."""
    return model.split("/", 1)[0] in LOCAL_PROVIDERS


def begin(engine: Engine, *, model: str, client: redis.Redis | None,
          enqueue: Callable[[int], None]) -> dict[str, Any] | None:
    """Start (local model) or propose (paid provider) the history run, once; the stored decision.

    None while there is nothing to analyse yet (a later start tries again)."""
    with session_scope(engine) as conn:
        state = settings_repo.get(conn, key=KEY)
        pending = bool(runs.list_scope_conversations(conn, HISTORY, at_ms=0))
    if state is not None and state.get("status") == "started":
        _resume(engine, state, enqueue)
    if state is not None or not pending:
        return state
    if not is_local_model(model):
        return _store(engine, {"status": "awaiting_consent", "model": model}, only_if_missing=True)
    created = runs.create_run(engine, HISTORY, model=model, client=client, enqueue=enqueue)
    log.info("onboarding: analysing the whole history with %s (run %d, %d jobs)", model, created.run.id,
             created.run.total)
    return _store(engine, {"status": "started", "run_id": created.run.id, "model": model}, only_if_missing=False)


def accept(engine: Engine, *, model: str, client: redis.Redis | None, enqueue: Callable[[int], None]) -> CreatedRun:
    """The user accepted the estimate: start the history run."""
    with session_scope(engine) as conn:
        state = settings_repo.get(conn, key=KEY)
    if state is None or state.get("status") not in ("awaiting_consent", "declined"):
        raise NothingToAccept("The history analysis is not waiting for consent: see GET /api/analysis/onboarding.",
                              status=(state or {}).get("status"))
    created = runs.create_run(engine, HISTORY, model=model, client=client, enqueue=enqueue)
    _store(engine, {"status": "started", "run_id": created.run.id, "model": model}, only_if_missing=False)
    return created


def decline(engine: Engine) -> Onboarding:
    with session_scope(engine) as conn:
        state = settings_repo.get(conn, key=KEY)
    if state is None or state.get("status") != "awaiting_consent":
        raise NothingToAccept("The history analysis is not waiting for consent: see GET /api/analysis/onboarding.",
                              status=(state or {}).get("status"))
    _store(engine, {**state, "status": "declined"}, only_if_missing=False)
    return get(engine, model=state.get("model") or "")


def get(engine: Engine, *, model: str) -> Onboarding:
    """The stored decision, its run, and (while consent is awaited) the estimate the user is asked about."""
    with session_scope(engine) as conn:
        state = settings_repo.get(conn, key=KEY) or {"status": "not_started"}
    run = runs.get_run(engine, int(state["run_id"])) if state.get("run_id") is not None else None
    estimate = runs.estimate(engine, HISTORY, model=model) if state["status"] in ("awaiting_consent", "declined") \
        else None
    return Onboarding(status=state["status"], model=state.get("model"), run=run, estimate=estimate)


def _resume(engine: Engine, state: dict[str, Any], enqueue: Callable[[int], None]) -> None:
    """A start of `up` while the history run is still going: start it again (idempotent), so that the
    window of jobs it sends is rebuilt even if Redis lost it."""
    with session_scope(engine) as conn:
        run = runs_repo.get(conn, run_id=int(state["run_id"]))
    if run is not None and run["status"] in runs_repo.ACTIVE_STATUSES:
        enqueue(run["id"])


def _store(engine: Engine, value: dict[str, Any], *, only_if_missing: bool) -> dict[str, Any]:
    def write(conn: Connection) -> dict[str, Any]:
        if only_if_missing and not settings_repo.ensure_default(conn, key=KEY, value=value):
            return settings_repo.get(conn, key=KEY)
        settings_repo.update(conn, key=KEY, value=value)
        return value

    return run_write(write, engine=engine)

"""Analysis runs: batch passes over a scope of conversations (historic ones included), on demand.

A run is estimated (conversations, model calls, tokens, cost), created `queued` with its Redis progress
counters seeded, then started by a task that ensures the jobs of each conversation's current revision,
links them to the run and sends the ones not done. Each job that settles moves the counters and publishes
`analysis.run_progress`; whether the run is done is decided from SQLite (every linked job done or failed).
Cancelling withdraws the run's unstarted jobs. Nothing here knows Celery: callers pass `send` callables.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta
from functools import partial
from typing import Any, ClassVar

import redis
from sqlalchemy import Connection, Engine

from backend.analysis import jobs as jobs_service
from backend.analysis import registry
from backend.analysis import repo as jobs_repo
from backend.analysis.context import CHARS_PER_TOKEN
from backend.analysis.runs import repo as runs_repo
from backend.analysis.runs import window
from backend.analysis.runs.schemas import CreatedRun, Estimate, Run, RunList, RunRequest
from backend.config import OFFLINE_LLM_MODEL
from backend.db.clock import now_ms
from backend.db.session import run_write, session_scope
from backend.errors import BackendError, InvalidRequest, NotFound
from backend.events import outbox
from backend.events.publish import relay_now
from backend.events.types import event
from backend.settings import repo as settings_repo

log = logging.getLogger(__name__)

ONBOARDING_TOP_CHATS_KEY = "analysis.onboarding.top_chats"
ONBOARDING_TOP_CHATS = 25
ONBOARDING_WINDOW = timedelta(days=365)
TOKENS_OUT_PER_CALL = {"basic": 900, "commitments": 250}  # a typical reply of each prompt pass
DEFAULT_TOKENS_OUT = 500
START_CHUNK = 200  # conversations per write transaction while starting a run
COUNTER_TTL_S = 30 * 86_400
REFRESH_EVERY_JOB_UP_TO = 100  # jobs: a run this small (a chat) stores its progress after every job
REFRESH_EVERY_MS = 1000  # a larger one at most once a second (and at its end)
WINDOWED_SCOPES = frozenset({"history", "all"})  # long runs send their jobs a window at a time (window.py)


class RunNotFound(NotFound):
    code = "run_not_found"


class InvalidScope(InvalidRequest):
    code = "invalid_scope"


class RunFinished(BackendError):
    status_code = 409
    code = "run_finished"


class RunNeedsConfirmation(BackendError):
    """A run bigger than the configured limit is queued only when the request says `confirm: true`."""

    status_code = 409
    code = "confirmation_required"


class BrokerUnavailable(BackendError):
    status_code = 503
    code = "broker_unavailable"


@event("analysis.run_progress")
class RunProgress:
    name: ClassVar[str]
    run_id: int
    status: str
    done: int
    failed: int
    total: int


# --- scope and estimate ---------------------------------------------------------------------------------

def resolve_passes(conn: Connection, names: list[str] | None) -> list[registry.AnalysisPass]:
    if not names:
        return jobs_service.enabled_batch_passes(conn)
    known = {p.name: p for p in registry.batch_passes()}
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise InvalidScope(f"Unknown batch passes {unknown}: choose from {sorted(known)}.", passes=unknown)
    return [known[name] for name in dict.fromkeys(names)]


def list_scope_conversations(conn: Connection, request: RunRequest, *, at_ms: int) -> list[dict[str, Any]]:
    """The conversations a run of this scope covers (open ones are left to the sealing chain)."""
    if request.scope == "all":
        return runs_repo.list_conversations_all(conn)
    if request.scope == "history":
        return runs_repo.list_conversations_history(conn)
    if request.scope == "chat":
        if request.chat_id is None:
            raise InvalidScope("Scope chat needs chat_id.")
        if not runs_repo.chat_exists(conn, chat_id=request.chat_id):
            raise InvalidScope(f"Chat {request.chat_id} does not exist: list chats with GET /api/chats.",
                               chat_id=request.chat_id)
        return runs_repo.list_conversations_of_chats(conn, chat_ids=[request.chat_id])
    if request.scope == "since":
        if request.since is None:
            raise InvalidScope("Scope since needs since (YYYY-MM-DD).")
        since_ms = int(datetime.combine(request.since, time.min).astimezone().timestamp() * 1000)
        return runs_repo.list_conversations_since(conn, since_ms=since_ms)
    top = settings_repo.get(conn, key=ONBOARDING_TOP_CHATS_KEY) or ONBOARDING_TOP_CHATS
    chats = runs_repo.list_busiest_chats(conn, since_ms=at_ms - int(ONBOARDING_WINDOW.total_seconds() * 1000),
                                         limit=int(top))
    return runs_repo.list_conversations_of_chats(conn, chat_ids=chats)


def estimate(engine: Engine, request: RunRequest, *, model: str) -> Estimate:
    with session_scope(engine) as conn:
        passes = resolve_passes(conn, request.passes)
        conversations = list_scope_conversations(conn, request, at_ms=now_ms())
        prompt_passes = [p for p in passes if p.uses_llm]
        payload_tokens = runs_repo.payload_chars(conn, conversation_ids=[c["id"] for c in conversations]) \
            // CHARS_PER_TOKEN if prompt_passes else 0
    calls = len(conversations) * len(prompt_passes)
    tokens_in = payload_tokens * len(prompt_passes) + len(conversations) * sum(map(prompt_tokens, prompt_passes))
    tokens_out = len(conversations) * sum(TOKENS_OUT_PER_CALL.get(p.name, DEFAULT_TOKENS_OUT) for p in prompt_passes)
    return Estimate(
        scope=request.scope, conversations=len(conversations), passes=[p.name for p in passes],
        prompt_passes=[p.name for p in prompt_passes], jobs=len(conversations) * len(passes), calls=calls,
        tokens_in=tokens_in, tokens_out=tokens_out, cost_usd=price_usd(model, tokens_in, tokens_out), model=model,
    )


def prompt_tokens(analysis_pass: registry.AnalysisPass) -> int:
    """Tokens of the prompt itself around the conversation: its rendered text and the schema instruction."""
    from backend.prompts import load_prompt  # noqa: PLC0415

    prompt = load_prompt(analysis_pass.prompt_id)
    rendered = prompt.render(**{name: {"participants": [], "messages": []} for name in prompt.variables})
    chars = sum(len(m["content"]) for m in rendered) + len(json.dumps(prompt.result_schema, sort_keys=True)) + 150
    return chars // CHARS_PER_TOKEN + 1


def price_usd(model: str, tokens_in: int, tokens_out: int) -> float | None:
    """What the model charges for these tokens (LiteLLM's price list); 0 offline; None when unknown."""
    if model.split("/", 1)[0] == OFFLINE_LLM_MODEL.split("/", 1)[0]:
        return 0.0
    from backend.llm.providers import litellm  # noqa: PLC0415 - imports LiteLLM (seconds), only for priced models

    try:
        cost_in, cost_out = litellm.cost_per_token(model=model, prompt_tokens=tokens_in,
                                                   completion_tokens=tokens_out)
    except Exception:  # noqa: BLE001 - LiteLLM raises for models it has no price for
        return None
    return round(float(cost_in + cost_out), 6)


# --- create, start, progress, cancel --------------------------------------------------------------------

def create_run(engine: Engine, request: RunRequest, *, model: str, client: redis.Redis | None,
               enqueue: Callable[[int], None], confirm_jobs_over: int | None = None) -> CreatedRun:
    """Estimate, store the run (queued), seed its Redis counters, then `enqueue(run_id)` (starts it).

    A run of more than `confirm_jobs_over` jobs needs `request.confirm` (RunNeedsConfirmation otherwise).
    """
    require_broker(client)
    estimated = estimate(engine, request, model=model)
    if confirm_jobs_over is not None and estimated.jobs > confirm_jobs_over and not request.confirm:
        raise RunNeedsConfirmation(
            f"This run would queue {estimated.jobs} jobs (more than {confirm_jobs_over}): send it again with "
            '"confirm": true to start it.', jobs=estimated.jobs, limit=confirm_jobs_over,
            cost_usd=estimated.cost_usd)
    params = request.model_dump(mode="json", exclude_none=True, exclude={"scope", "confirm"})
    params["passes"] = estimated.passes
    run_id = run_write(lambda conn: runs_repo.create(
        conn, scope=request.scope, params=params, total=estimated.jobs,
        estimate_tokens=estimated.tokens_in + estimated.tokens_out, estimate_cost_usd=estimated.cost_usd,
        now_ms=now_ms()), engine=engine)
    seed_counters(require_broker(client), run_id, total=estimated.jobs)
    enqueue(run_id)
    return CreatedRun(run=get_run(engine, run_id), estimate=estimated)


def start_run(engine: Engine, run_id: int, *, client: redis.Redis | None, send_job: Callable[[int], None]) -> list[int]:
    """Ensure and link the jobs of every conversation of the run, then send the ones not done; their ids.

    Idempotent: a redelivered start links nothing new and sends again only what is still queued.
    """
    with session_scope(engine) as conn:
        run = runs_repo.get(conn, run_id=run_id)
        if run is None or run["status"] not in runs_repo.ACTIVE_STATUSES:
            return []
        params = json.loads(run["params"])
        request = RunRequest(scope=run["scope"], **params)
        passes = [(p.name, p.prompt_version) for p in resolve_passes(conn, request.passes)]
        conversations = list_scope_conversations(conn, request, at_ms=run["created_at"])

    for first in range(0, len(conversations), START_CHUNK):
        chunk = conversations[first:first + START_CHUNK]
        if not run_write(partial(_link_chunk, run_id=run_id, conversations=chunk, passes=passes), engine=engine):
            return []  # cancelled meanwhile

    def finish_start(conn: Connection) -> list[dict[str, Any]] | None:
        runs_repo.requeue_failed_jobs(conn, run_id=run_id, now_ms=now_ms())
        if _refresh(conn, run_id, starting=True) is None:
            return None
        return runs_repo.list_run_jobs(conn, run_id=run_id)

    linked = run_write(finish_start, engine=engine)
    relay_now()
    if linked is None:
        return []
    if client is not None:
        seed_counters(client, run_id, total=len(linked), keep=True)
        for job in linked:
            if job["status"] == "done":
                move_counters(client, run_id, job_id=job["id"], outcome="done")
    rank = {conversation["id"]: i for i, conversation in enumerate(conversations)}  # the scope's order
    queued = sorted((job for job in linked if job["status"] == "queued"),
                    key=lambda job: (rank.get(job["conversation_id"], len(rank)), job["id"]))
    to_send = [job["id"] for job in queued]
    if client is not None and request.scope in WINDOWED_SCOPES:
        if not window.loaded(client, run_id):
            window.load(client, run_id, to_send)
        window.top_up(client, run_id, send_job)
        return to_send
    for job_id in to_send:
        send_job(job_id)
    return to_send


def _link_chunk(conn: Connection, run_id: int, conversations: list[dict[str, Any]],
                passes: list[tuple[str, str]]) -> bool:
    run = runs_repo.get(conn, run_id=run_id)
    if run is None or run["status"] not in runs_repo.ACTIVE_STATUSES:
        return False
    at = now_ms()
    for conversation in conversations:
        created = jobs_repo.ensure_jobs(conn, conversation_id=conversation["id"], revision=conversation["revision"],
                                        passes=passes, now_ms=at)
        runs_repo.link_jobs(conn, run_id=run_id, conversation_id=conversation["id"],
                            revision=conversation["revision"], passes=passes, created_ids=created)
    return True


def record_job_outcome(engine: Engine, job_id: int, *, client: redis.Redis | None,
                       send_job: Callable[[int], None] | None = None) -> list[int]:
    """After a job's task ran: when the job is done or failed, move the counters of its active runs,
    send the next jobs of a windowed run (with `send_job`) and publish their progress (a run whose jobs
    have all settled is done). The ids of the runs moved."""
    with session_scope(engine) as conn:
        status = runs_repo.get_job_status(conn, job_id=job_id)
        run_ids = runs_repo.list_active_runs_of_job(conn, job_id=job_id) if status in ("done", "failed") else []
    refreshed = False
    for run_id in run_ids:
        if client is not None and status is not None:
            done, failed = move_counters(client, run_id, job_id=job_id, outcome=status)
            if send_job is not None:
                window.top_up(client, run_id, send_job)
            if not _refresh_due(client, run_id, settled=done + failed):
                continue
        run_write(partial(_refresh, run_id=run_id), engine=engine)
        refreshed = True
    if refreshed:  # only a refresh wrote an event (analysis.run_progress) to relay
        relay_now()
    return run_ids


def _refresh_due(client: redis.Redis, run_id: int, *, settled: int) -> bool:
    """Store a large run's progress in SQLite at most every REFRESH_EVERY_MS (counting its jobs costs a scan
    of the run), and always once its last job settled; a small run's after every job."""
    total = int(client.get(counter_keys(run_id)["total"]) or 0)  # type: ignore[arg-type]  # sync client
    if total <= REFRESH_EVERY_JOB_UP_TO or settled >= total:
        return True
    return bool(client.set(f"chatstats:run:{run_id}:refreshed", 1, nx=True, px=REFRESH_EVERY_MS))


def _refresh(conn: Connection, run_id: int, *, starting: bool = False) -> dict[str, int] | None:
    """Store the run's progress from its jobs, `done` once every job settled, with a progress event.
    A run still being started (queued) is never declared done by a job that settles meanwhile."""
    run = runs_repo.get(conn, run_id=run_id)
    if run is None or run["status"] not in runs_repo.ACTIVE_STATUSES:
        return None
    counts = runs_repo.job_counts(conn, run_id=run_id)
    if run["status"] == "queued" and not starting:
        status = "queued"
    else:
        status = "done" if counts["done"] + counts["failed"] >= counts["total"] else "running"
    runs_repo.update_progress(conn, run_id=run_id, status=status, now_ms=now_ms(), **counts)
    outbox.record(conn, [RunProgress(run_id=run_id, status=status, **counts)])
    return counts


def cancel_run(engine: Engine, run_id: int) -> Run:
    """Stop a run: status cancelled, its unstarted jobs withdrawn (jobs already running finish)."""

    def write(conn: Connection) -> None:
        run = runs_repo.get(conn, run_id=run_id)
        if run is None:
            raise RunNotFound(f"Analysis run {run_id} does not exist: list runs with GET /api/analysis/runs.")
        if run["status"] == "cancelled":
            return
        if run["status"] == "done":
            raise RunFinished(f"Analysis run {run_id} is done already: there is nothing to cancel.")
        counts = runs_repo.job_counts(conn, run_id=run_id)
        runs_repo.cancel(conn, run_id=run_id, done=counts["done"], failed=counts["failed"], now_ms=now_ms())
        withdrawn = runs_repo.delete_unstarted_jobs(conn, run_id=run_id)
        log.info("analysis run %s cancelled: %d unstarted jobs withdrawn", run_id, withdrawn)
        outbox.record(conn, [RunProgress(run_id=run_id, status="cancelled", done=counts["done"],
                                         failed=counts["failed"], total=run["total"])])

    run_write(write, engine=engine)
    relay_now()
    return get_run(engine, run_id)


# --- reads ----------------------------------------------------------------------------------------------

def get_run(engine: Engine, run_id: int) -> Run:
    """The run with its progress counted from SQLite now (stored figures once it is cancelled)."""
    with session_scope(engine) as conn:
        row = runs_repo.get(conn, run_id=run_id)
        if row is None:
            raise RunNotFound(f"Analysis run {run_id} does not exist: list runs with GET /api/analysis/runs.")
        if row["status"] == "running":
            row.update(runs_repo.job_counts(conn, run_id=run_id))
    return _to_run(row)


def list_runs(engine: Engine, *, limit: int = 50) -> RunList:
    with session_scope(engine) as conn:
        return RunList(runs=[_to_run(row) for row in runs_repo.list_runs(conn, limit=limit)])


def _to_run(row: dict[str, Any]) -> Run:
    return Run(**{**row, "params": json.loads(row["params"] or "{}")})


# --- Redis progress counters (fast to read; SQLite stays the truth) -------------------------------------

# Each job moves a run's counters once: a job id joins the done or failed set, and a job that failed and
# later succeeded moves from failed to done.
_MOVE = """
local done_key, failed_key, done_set, failed_set = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local job, outcome, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
if outcome == 'done' then
  if redis.call('SADD', done_set, job) == 1 then
    redis.call('INCR', done_key)
    if redis.call('SREM', failed_set, job) == 1 then redis.call('DECR', failed_key) end
  end
elseif redis.call('SISMEMBER', done_set, job) == 0 and redis.call('SADD', failed_set, job) == 1 then
  redis.call('INCR', failed_key)
end
for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ttl) end
return {tonumber(redis.call('GET', done_key) or '0'), tonumber(redis.call('GET', failed_key) or '0')}
"""


def counter_keys(run_id: int) -> dict[str, str]:
    base = f"chatstats:run:{run_id}"
    return {"total": f"{base}:total", "done": f"{base}:done", "failed": f"{base}:failed",
            "done_jobs": f"{base}:done_jobs", "failed_jobs": f"{base}:failed_jobs"}


def require_broker(client: redis.Redis | None) -> redis.Redis:
    message = "Analysis runs need Redis and the workers: run `chatstats up` first."
    if client is None:
        raise BrokerUnavailable(message)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise BrokerUnavailable(message, error=str(exc)) from exc
    return client


def seed_counters(client: redis.Redis, run_id: int, *, total: int, keep: bool = False) -> None:
    """total/done/failed for a new run (all zero but total); `keep` only corrects the total."""
    keys = counter_keys(run_id)
    pipe = client.pipeline(transaction=True)
    pipe.set(keys["total"], total, ex=COUNTER_TTL_S)
    for name in ("done", "failed"):
        pipe.set(keys[name], 0, ex=COUNTER_TTL_S, nx=keep)
    pipe.execute()


def move_counters(client: redis.Redis, run_id: int, *, job_id: int, outcome: str) -> tuple[int, int]:
    keys = counter_keys(run_id)
    done, failed = client.eval(_MOVE, 4, keys["done"], keys["failed"], keys["done_jobs"], keys["failed_jobs"],  # type: ignore[misc, str-unpack]
                               str(job_id), outcome, str(COUNTER_TTL_S))  # (redis-py: sync-or-async reply type)
    return int(done), int(failed)


def read_counters(client: redis.Redis, run_id: int) -> dict[str, int]:
    keys = counter_keys(run_id)
    values = client.mget(keys["total"], keys["done"], keys["failed"])
    return {name: int(value or 0) for name, value in zip(("total", "done", "failed"), values, strict=True)}  # type: ignore[arg-type]  # redis-py types its sync client's replies as sync-or-async

"""Typed references to the Celery tasks, so that one domain sends another's task without its name as a string.

A `TaskRef` carries a task's name and, as its type parameter, the task's parameters (taken from a signature
stub here, so that importing a reference imports no task module, no LiteLLM, no cycle):

    task_refs.FINALIZE_CONVERSATION.send(app, conversation_id, revision)
    task_refs.CALL_LIVE_PASS.send_with(app, {"countdown": 10.0}, conversation_id, pass_name)

mypy checks the arguments against the stub, a misspelt reference is an AttributeError/ImportError instead of a
message no worker consumes, and tests/worker/test_task_refs.py checks that every reference names a task
registered on the Celery app with the same parameters. The task modules take their `name=`, the beat schedules
their entries and `queues.route_task` its answer from the same references.

Arguments are sent positionally, as the stub binds them: the failed-tasks ledger keys work by
(task name, args, kwargs), so the same work sent from two places is one row.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypedDict

from backend.worker import queues

if TYPE_CHECKING:
    from celery import Celery

P = ParamSpec("P")


class SendOptions(TypedDict, total=False):
    """The `send_task` options a sender may set (Celery's own names)."""

    countdown: float
    expires: float
    queue: str
    connection: Any
    retry: bool


class TaskRef(Generic[P]):
    """A task's name, typed by its parameters."""

    __slots__ = ("name", "stub")

    def __init__(self, name: str, stub: Callable[P, object]) -> None:
        self.name = name
        self.stub = stub

    def __repr__(self) -> str:
        return f"TaskRef({self.name!r})"

    @property
    def queue(self) -> str:
        return queues.queue_for(self.name)

    def message(self, *args: P.args, **kwargs: P.kwargs) -> tuple[list[Any], dict[str, Any]]:
        """(args, kwargs) as they travel: bound to the stub (a wrong call raises TypeError here too)."""
        bound = inspect.signature(self.stub).bind(*args, **kwargs)
        return list(bound.args), dict(bound.kwargs)

    def send(self, app: Celery, /, *args: P.args, **kwargs: P.kwargs) -> None:
        self.send_with(app, {}, *args, **kwargs)

    def send_with(self, app: Celery, options: SendOptions, /, *args: P.args, **kwargs: P.kwargs) -> None:
        message_args, message_kwargs = self.message(*args, **kwargs)
        app.send_task(self.name, args=message_args, kwargs=message_kwargs, **options)

    def beat(self, schedule: float, **options: Any) -> dict[str, Any]:
        """A beat-schedule entry that runs this task every `schedule` seconds."""
        entry: dict[str, Any] = {"task": self.name, "schedule": schedule}
        if options:
            entry["options"] = options
        return entry


REFS: dict[str, TaskRef[Any]] = {}


def ref(name: str, stub: Callable[P, object]) -> TaskRef[P]:
    if name in REFS:
        raise ValueError(f"task reference {name!r} defined twice")
    task_ref = TaskRef(name, stub)
    REFS[name] = task_ref
    return task_ref


# --- signature stubs (the parameters of each task; the test holds them equal to the tasks') -------------------

def _no_args() -> None: ...
def _conversation_revision(conversation_id: int, revision: int) -> None: ...
def _conversation_ids(conversation_ids: list[int]) -> None: ...
def _job(job_id: int) -> None: ...
def _job_payload(job_id: int, payload: dict[str, Any]) -> None: ...
def _job_error(job_id: int, error: str) -> None: ...
def _run(run_id: int) -> None: ...
def _live_pass(conversation_id: int, pass_name: str) -> None: ...
def _live_payload(payload: dict[str, Any]) -> None: ...
def _check_sealing(now_ms: int | None = None) -> None: ...
def _event(name: str, payload: Any, outbox_id: int) -> None: ...


# --- conversations (db queue) ----------------------------------------------------------------------------------
CHECK_SEALING = ref("conversations.check_sealing", _check_sealing)
FINALIZE_CONVERSATION = ref("conversations.finalize", _conversation_revision)

# --- analysis (db queue) and its model calls (llm queue) -------------------------------------------------------
ENQUEUE_BATCH_PASSES = ref("analysis.enqueue_batch_passes", _conversation_revision)
RUN_JOB = ref("analysis.run_job", _job)
CALL_LLM = ref("llm.call_llm", _job)
PERSIST_RESULT = ref("analysis.persist_result", _job_payload)
RECORD_JOB_FAILURE = ref("analysis.record_job_failure", _job_error)
REQUEUE_STALE_JOBS = ref("analysis.requeue_stale_jobs", _no_args)
START_RUN = ref("analysis.start_run", _run)
CALL_LIVE_PASS = ref("llm.call_live_pass", _live_pass)
PERSIST_LIVE_RESULT = ref("analysis.persist_live_result", _live_payload)

# --- search (index queue) --------------------------------------------------------------------------------------
EMBED_CONVERSATIONS = ref("index.embed_conversations", _conversation_ids)
EMBED_ANALYSES = ref("index.embed_analyses", _conversation_ids)
EMBED_REQUESTED_ANALYSES = ref("index.embed_requested_analyses", _no_args)
EMBED_PENDING = ref("index.embed_pending", _no_args)

# --- events and maintenance ------------------------------------------------------------------------------------
RELAY_OUTBOX = ref("events.relay_outbox", _no_args)
DISPATCH_EVENT = ref("events.dispatch_event", _event)
REPLAY_FAILED_TASKS = ref("maintenance.replay_failed_tasks", _no_args)
HEARTBEAT = ref("maintenance.heartbeat", _no_args)
PING_DB = ref("maintenance.ping_db", _no_args)

"""The base class of every ChatStats Celery task: retry what is transient, record what fails for good."""

from __future__ import annotations

import logging
import random
import sqlite3
from typing import Any

import redis
from celery import Task
from kombu.exceptions import OperationalError as BrokerOperationalError

from backend.db.session import is_locked_error
from backend.errors import BackendError
from backend.worker import failures

log = logging.getLogger(__name__)


class TransientError(Exception):
    """Raise this (or a subclass) from a task for a failure that a later attempt can get past."""


TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    TransientError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    BrokerOperationalError,  # the broker could not take a message a task sends on
    TimeoutError,
    ConnectionError,
)


def redacted_argsrepr(*args: Any) -> str:
    """A task's `argsrepr` that shows a dict argument by its size, not its content.

    Results sent on to the writer carry what the model said about the user's messages, and argsrepr goes into
    the message headers, task events and worker logs; it is also the costliest part of sending a large result
    (a repr of the whole payload, ~0.3 ms). Use: `task.apply_async(args, argsrepr=redacted_argsrepr(*args))`.
    """
    return "(" + ", ".join(f"<{len(a)} keys>" if isinstance(a, dict) else repr(a) for a in args) + ")"


def is_transient(exc: BaseException) -> bool:
    """True for errors a retry can get past: a lock, a dropped connection, a timeout."""
    if isinstance(exc, TRANSIENT_TYPES):
        return True
    driver_error = getattr(exc, "orig", None)  # SQLAlchemy wraps the sqlite3 error it got
    return any(
        isinstance(candidate, sqlite3.OperationalError) and is_locked_error(candidate)
        for candidate in (exc, driver_error)
    )


def is_permanent(exc: BaseException) -> bool:
    """True for errors no later attempt can get past: the work names something that does not exist, or is
    invalid as sent (a domain error answering 4xx, such as ConversationNotFound)."""
    return isinstance(exc, BackendError) and 400 <= exc.status_code < 500


def backoff_s(retries: int, *, base_s: float, max_s: float) -> float:
    """Exponential backoff with jitter: half the delay fixed, half random (never two retries in lockstep)."""
    delay = min(max_s, base_s * 2**retries)
    return delay / 2 + random.random() * delay / 2


class ChatStatsTask(Task):
    """Base of every ChatStats task (`@app.task(name=task_refs.<VERB_NOUN>.name, base=ChatStatsTask)`; the
    reference in backend.worker.task_refs names it "<domain>.<verb>_<noun>" and types its parameters).

    The contract a task keeps:
    - It takes ids and plain JSON values, never rows or objects, and re-reads the state it needs.
    - It is idempotent: messages are acknowledged late (`acks_late`, `reject_on_worker_lost`), so a task
      whose worker died mid-way runs again, and failed tasks are replayed; running twice must leave the
      same result as running once (upserts keyed by the input, "already done" checks).
    - Business logic lives in a service that knows nothing of Celery; the task only calls it.

    What the base class does:
    - Retries transient errors (`is_transient`) with exponential backoff and jitter, up to `max_retries`.
      Anything else fails at once; a permanent one (`is_permanent`: a 4xx domain error such as
      ConversationNotFound) is recorded abandoned, with its reason, and never replayed.
    - A task that fails for good (a non-transient error, or retries exhausted) is recorded in
      `failed_tasks` (see backend.worker.failures), from where maintenance.replay_failed_tasks replays it
      with backoff; when the same work later succeeds its row is marked resolved.
    - The failure hooks never raise: a broken ledger is logged, not turned into a second failure.
    """

    max_retries = 5
    retry_backoff_base_s: float = 1.0
    retry_backoff_max_s: float = 120.0
    record_failures: bool = True  # periodic tasks that beat re-runs anyway can opt out

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.request.called_directly:  # a plain function call: no retries, no ledger
            return super().__call__(*args, **kwargs)
        try:
            return self.run(*args, **kwargs)
        except Exception as exc:
            if not is_transient(exc):
                raise
            countdown = backoff_s(self.request.retries, base_s=self.retry_backoff_base_s,
                                  max_s=self.retry_backoff_max_s)
            log.warning("%s[%s] transient error (retry %d/%d in %.1f s): %s", self.name, self.request.id,
                        self.request.retries + 1, self.max_retries, countdown, failures.failure_reason(exc))
            raise self.retry(exc=exc, countdown=countdown) from exc  # retries exhausted: raises exc

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        if not self.record_failures:
            return
        try:
            delivery = getattr(self.request, "delivery_info", None) or {}
            row = failures.record_failure(task_id=task_id, task_name=self.name,
                                          queue=delivery.get("routing_key"), args=args, kwargs=kwargs, exc=exc,
                                          permanent=is_permanent(exc))
            log.error("%s[%s] failed (attempt %d, now %s): %s", self.name, task_id, row["attempts"],
                      row["status"], row["reason"])
        except Exception:
            log.exception("%s[%s] failed and could not be recorded in failed_tasks", self.name, task_id)

    def on_success(self, retval: Any, task_id: str, args: Any, kwargs: Any) -> None:
        if not self.record_failures:
            return
        try:
            if failures.resolve_if_failed(task_name=self.name, args=args, kwargs=kwargs):
                log.info("%s[%s] succeeded: its failed_tasks row is resolved", self.name, task_id)
        except Exception:
            log.exception("%s[%s] succeeded but its failed_tasks row could not be resolved", self.name, task_id)

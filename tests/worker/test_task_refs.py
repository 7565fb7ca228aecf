"""Typed task references (backend.worker.task_refs): each names a registered task with the task's parameters."""

from __future__ import annotations

import importlib
import inspect

import pytest

from backend.worker import queues, task_refs
from backend.worker.celery_app import TASK_MODULES, app
from backend.worker.maintenance import BEAT_KEY
from tests.worker.conftest import wait_for


def _registered() -> dict[str, object]:
    """The tasks of the package's task modules (what a worker imports; tests' sample tasks left out)."""
    for module in TASK_MODULES:
        importlib.import_module(module)
    return {name: task for name, task in app.tasks.items() if task.__module__ in TASK_MODULES}


def _params(fn: object) -> list[tuple[str, object, object, object]]:
    return [(p.name, p.kind, p.default, p.annotation) for p in inspect.signature(fn).parameters.values()]  # type: ignore[arg-type]


def test_every_reference_names_a_registered_task_with_the_same_parameters() -> None:
    registered = _registered()
    assert len(task_refs.REFS) >= 15
    for name, ref in task_refs.REFS.items():
        assert ref.name == name
        assert name in registered, f"{name} is referenced but no task module registers it"
        assert _params(registered[name].run) == _params(ref.stub), name  # type: ignore[attr-defined]


def test_every_registered_task_has_a_reference() -> None:
    assert set(_registered()) == set(task_refs.REFS)


def test_the_beat_schedule_names_referenced_tasks_only() -> None:
    _registered()
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert scheduled == {task_refs.CHECK_SEALING.name, task_refs.REQUEUE_STALE_JOBS.name,
                         task_refs.EMBED_PENDING.name, task_refs.RELAY_OUTBOX.name,
                         task_refs.REPLAY_FAILED_TASKS.name, task_refs.HEARTBEAT.name}
    assert app.conf.beat_schedule["heartbeat"]["options"] == {"expires": 10.0}


def test_a_reference_routes_like_its_task_name() -> None:
    assert task_refs.CALL_LIVE_PASS.queue == queues.LLM == queues.route_task(task_refs.CALL_LIVE_PASS.name,
                                                                            [], {}, {})["queue"]
    assert task_refs.PERSIST_LIVE_RESULT.queue == queues.DB
    assert task_refs.EMBED_CONVERSATIONS.queue == queues.INDEX
    assert task_refs.RELAY_OUTBOX.queue == queues.EVENTS
    assert task_refs.REPLAY_FAILED_TASKS.queue == queues.DLQ


def test_arguments_travel_positionally_as_the_stub_binds_them() -> None:
    # the failed-tasks ledger keys work by (name, args, kwargs): keyword and positional calls are the same work
    assert task_refs.FINALIZE_CONVERSATION.message(7, 3) == ([7, 3], {})
    assert task_refs.FINALIZE_CONVERSATION.message(conversation_id=7, revision=3) == ([7, 3], {})
    assert task_refs.CHECK_SEALING.message() == ([], {})
    assert task_refs.CHECK_SEALING.message(now_ms=5) == ([5], {})
    with pytest.raises(TypeError):
        task_refs.FINALIZE_CONVERSATION.message(7)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        task_refs.EMBED_CONVERSATIONS.message([1], revision=2)  # type: ignore[call-arg]


def test_a_reference_defined_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        task_refs.ref(task_refs.HEARTBEAT.name, task_refs.HEARTBEAT.stub)


def test_a_task_sent_by_its_reference_runs_on_the_worker(celery_workers, redis_server) -> None:
    client = redis_server.client()
    assert client.get(BEAT_KEY) is None
    task_refs.HEARTBEAT.send_with(celery_workers.app, {"expires": 60.0})
    assert int(wait_for(lambda: client.get(BEAT_KEY), what="the heartbeat key")) > 1_700_000_000_000

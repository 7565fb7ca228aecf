"""Handlers receive typed events: the dispatcher decodes a payload once; a malformed one is a permanent failure."""

from __future__ import annotations

import dataclasses
import json
import typing
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from backend.db.session import fetch_all, run_write, session_scope
from backend.events import handlers, outbox, types
from backend.events.bus import GROUP, STREAM, EventConsumer, redis_client, relay_pending
from backend.events.handlers import dispatch, handlers_for, subscribe
from backend.events.tasks import _load_handlers
from backend.worker import task_refs

# the production handlers: event name -> handler function names (each must take that event's type)
EXPECTED_HANDLERS = {
    "conversation.sealed": {"finalize_when_sealed", "embed_when_sealed"},
    "conversation.ready_for_analysis": {"enqueue_batch_passes"},
    "analysis.job_done": {"embed_analysis_when_done"},
    "message.created": {"schedule_live_passes"},
}


def _sample(cls: type) -> Any:
    """An instance with distinct values per field (ints 101, 102, ...; strings named after the field)."""
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for n, field in enumerate(dataclasses.fields(cls), start=101):
        values[field.name] = f"{field.name}-value" if hints[field.name] is str else n
    return cls(**values)


def _event_types() -> list[type]:
    _load_handlers()
    names = sorted(types._REGISTRY)
    return [types.event_class(name) for name in names]  # type: ignore[misc]


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """A recorder subscribed to every event type, alone (the production handlers would send tasks)."""
    event_types = _event_types()
    monkeypatch.setattr(handlers, "_HANDLERS", defaultdict(list))
    got: list[Any] = []
    unsubscribes = [subscribe(cls, got.append) for cls in event_types]
    yield got
    for unsubscribe in unsubscribes:
        unsubscribe()
    assert all(not fns for fns in handlers._HANDLERS.values())  # unsubscribe removed every one


def _failed(engine) -> list[dict[str, Any]]:
    with session_scope(engine) as conn:
        return fetch_all(conn, "SELECT * FROM failed_tasks ORDER BY id")


def test_each_event_type_reaches_its_handlers_decoded(received: list[Any]) -> None:
    event_types = _event_types()
    assert {"conversation.sealed", "message.created", "analysis.job_done", "analysis.run_progress"} <= {
        cls.name for cls in event_types}  # type: ignore[attr-defined]
    for outbox_id, cls in enumerate(event_types, start=1):
        sent = _sample(cls)
        payload = json.loads(json.dumps(types.to_payload(sent)))  # as it comes out of the stream
        assert dispatch(cls.name, payload, outbox_id=outbox_id) == 1  # type: ignore[attr-defined]
        assert type(received[-1]) is cls and received[-1] == sent
    assert len(received) == len(event_types)


def test_the_production_handlers_are_registered_for_the_type_they_take() -> None:
    _load_handlers()
    for name, expected in EXPECTED_HANDLERS.items():
        registered = [h for h in handlers_for(name) if h.__module__.startswith("backend.")]
        assert {h.__name__ for h in registered} == expected, name
        for handler in registered:
            first = next(iter(typing.get_type_hints(handler).values()))
            assert first is types.event_class(name), f"{handler.__name__} takes {first}, not the {name} event"


def test_an_optional_field_may_be_missing_and_unknown_keys_are_ignored(received: list[Any]) -> None:
    dispatch("message.created", {"message_id": 5, "chat_id": 6, "added_later": "x"}, outbox_id=1)
    assert received == [types.MessageCreated(message_id=5, chat_id=6, conversation_id=None)]


@pytest.mark.parametrize(("name", "payload", "reason"), [
    ("conversation.unheard_of", {"conversation_id": 1}, "unknown event 'conversation.unheard_of'"),
    ("conversation.sealed", ["not", "an", "object"], "payload is list, not an object"),
    ("conversation.sealed", {"conversation_id": 1, "chat_id": 2}, "missing field 'revision'"),
    ("conversation.sealed", {"conversation_id": "1", "chat_id": 2, "revision": 1}, "field 'conversation_id' is '1'"),
    ("analysis.job_done", {"job_id": 1, "conversation_id": True, "pass_name": "basic"},
     "field 'conversation_id' is True"),
])
def test_a_malformed_payload_reaches_no_handler(received: list[Any], name: str, payload: Any, reason: str) -> None:
    with pytest.raises(types.MalformedEvent, match=reason.replace("(", r"\(").replace("[", r"\[")):
        dispatch(name, payload, outbox_id=9)
    assert received == []


def test_the_consumer_records_a_malformed_entry_as_permanent_and_goes_on(
        received: list[Any], migrated_engine, redis_server) -> None:
    client = redis_client(redis_server.url)
    consumer = EventConsumer(migrated_engine, redis_server.url, block_ms=10)
    consumer.ensure_group()
    good = types.ConversationReadyForAnalysis(conversation_id=41, revision=2)
    # a writer with a bug (or a newer version): a field of the wrong type, an unknown event, a payload not JSON
    client.xadd(STREAM, {"outbox_id": 900, "name": "conversation.sealed",
                         "payload": json.dumps({"conversation_id": "x", "chat_id": 1, "revision": 1})})
    client.xadd(STREAM, {"outbox_id": 901, "name": "chat.renamed", "payload": json.dumps({"chat_id": 1})})
    client.xadd(STREAM, {"outbox_id": 902, "name": "chat.updated", "payload": "{not json"})
    run_write(lambda conn: outbox.record(conn, [good]), engine=migrated_engine)
    assert relay_pending(migrated_engine, client) == 1

    assert consumer.run_once() == 1  # the good one handled; the three malformed recorded and acknowledged
    assert received == [good]
    assert client.xpending(STREAM, GROUP)["pending"] == 0

    rows = {row["task_id"]: row for row in _failed(migrated_engine)}
    assert set(rows) == {"outbox-900", "outbox-901", "outbox-902"}
    for row in rows.values():
        assert (row["status"], row["attempts"], row["next_retry_at"]) == ("abandoned", 1, None)
        assert row["task_name"] == task_refs.DISPATCH_EVENT.name and row["queue"] == "events"
        assert row["reason"].startswith("MalformedEvent: ")
    assert "field 'conversation_id' is 'x', not int" in rows["outbox-900"]["reason"]
    assert "unknown event 'chat.renamed'" in rows["outbox-901"]["reason"]
    assert "chat.updated: payload is str, not an object" in rows["outbox-902"]["reason"]
    # the row holds what an admin retry re-sends: the event itself
    assert json.loads(rows["outbox-901"]["args"]) == ["chat.renamed", {"chat_id": 1}, 901]

    # the same entry delivered again (a relay that re-sent it): its row is updated, never a second one
    client.xadd(STREAM, {"outbox_id": 900, "name": "conversation.sealed",
                         "payload": json.dumps({"conversation_id": "x", "chat_id": 1, "revision": 1})})
    assert consumer.run_once() == 0
    assert client.xpending(STREAM, GROUP)["pending"] == 0
    again = {row["task_id"]: row for row in _failed(migrated_engine)}
    assert len(again) == 3 and (again["outbox-900"]["status"], again["outbox-900"]["attempts"]) == ("abandoned", 2)


def test_the_dispatch_task_runs_the_handlers_and_refuses_a_malformed_event_as_permanent(received: list[Any]) -> None:
    from backend.events.tasks import dispatch_event
    from backend.worker.tasks_base import is_permanent

    sent = types.ChatUpdated(chat_id=12)
    assert dispatch_event(sent.name, types.to_payload(sent), 3) == 1
    assert received == [sent]
    with pytest.raises(types.MalformedEvent) as caught:
        dispatch_event("chat.updated", {"chat_id": None}, 4)
    assert is_permanent(caught.value)

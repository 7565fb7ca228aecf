"""The live analysis path end to end, with real processes: a message written to the demo source is mirrored by
live sync, its message.created event goes through the outbox and the Redis stream to the io worker's consumer,
which schedules the live passes (debounced per conversation); `llm.call_live_pass` runs on the gevent worker
with the offline model and `analysis.persist_live_result` on the single writer, and the result lands in SQLite.
Then one more message: the next run sends only that message (incremental)."""

from __future__ import annotations

import json
import time

import pytest

from backend.analysis.live import service as live
from backend.db.engine import get_engine
from backend.events.bus import redis_client, relay_pending
from backend.source.demo.live import LiveSourceWriter
from tests.analysis.helpers import db
from tests.waiting import wait_until

DEBOUNCE_S = 0.5
LIVE_PASSES = ("basic_live", "commitments_live")
PROMPTS = {"basic_live": "convo-all-v1", "commitments_live": "commitment-extraction-v1"}


def _wait(predicate, timeout: float = 40.0, what: str = "condition"):
    return wait_until(predicate, timeout=timeout, what=what, interval=0.05)


def _states(conversation_id: int) -> dict[str, dict]:
    rows = db().execute("SELECT * FROM live_pass_state WHERE conversation_id = ?", (conversation_id,)).fetchall()
    return {r["pass_name"]: dict(r) for r in rows}


def _runs_reached(conversation_id: int, runs: int):
    states = _states(conversation_id)
    done = set(LIVE_PASSES) <= set(states) and all(states[p]["runs"] >= runs for p in LIVE_PASSES)
    return states if done else None


def _live_calls() -> dict[str, int]:
    rows = db().execute("SELECT prompt_id, count(*) FROM llm_calls WHERE purpose = 'live_analysis' AND status = 'ok' "
                        "GROUP BY prompt_id").fetchall()
    return {r[0]: r[1] for r in rows}


@pytest.fixture
def short_debounce(imported):
    conn = db()
    with conn:
        conn.execute("INSERT INTO app_settings (key, value, updated_at) VALUES (?, ?, 0)",
                     (live.DEBOUNCE_SETTING, json.dumps(DEBOUNCE_S)))
    return DEBOUNCE_S


def test_live_messages_reach_the_live_passes_in_real_workers_debounced_and_incremental(
        imported, live_sync, short_debounce, redis_server, celery_workers):
    engine = get_engine()
    live_sync.after_commit.append(lambda: relay_pending(engine, redis_client(redis_server.url)))
    with LiveSourceWriter(imported / "chat.db", seed=43) as writer:
        chat_guid = writer.chat_guids()[0]
        promise = writer.write_message(chat_guid=chat_guid, text="I'll send you the report tomorrow", from_me=True)
        live_sync.run_pass()  # two sync passes, two message.created events within one debounce window
        reply = writer.write_message(chat_guid=chat_guid, text="Great, thanks a lot", from_me=False)
        live_sync.run_pass()
    messages = {r["guid"]: r for r in db().execute(
        "SELECT guid, id, conversation_id FROM messages WHERE guid IN (?, ?)", (promise, reply))}
    conversation_id = messages[promise]["conversation_id"]
    assert messages[reply]["conversation_id"] == conversation_id
    total = db().execute("SELECT count(*) FROM messages WHERE conversation_id = ? AND kind = 'message' "
                         "AND deleted_at IS NULL AND is_unsent = 0", (conversation_id,)).fetchone()[0]

    states = _wait(lambda: _runs_reached(conversation_id, 1), what="both live passes persisted")
    time.sleep(DEBOUNCE_S + 1.0)  # room for a second, undebounced run to show up
    # debounced: one model call per pass for the two messages, and one run that saw both of them
    assert _live_calls() == {PROMPTS[p]: 1 for p in LIVE_PASSES}
    states = _states(conversation_id)
    for name in LIVE_PASSES:
        assert (states[name]["runs"], states[name]["messages_analysed"]) == (1, total)
        assert states[name]["last_message_id"] == messages[reply]["id"]
        assert states[name]["model"] == "chatstats/offline"
    analyses = db().execute("SELECT pass_name, status, model, prompt_id FROM conversation_analyses "
                            "WHERE conversation_id = ? ORDER BY pass_name", (conversation_id,)).fetchall()
    assert [tuple(r) for r in analyses] == [(p, "done", "chatstats/offline", PROMPTS[p]) for p in LIVE_PASSES]
    [commitment] = db().execute("SELECT text, status, is_from_me, due_at FROM commitments WHERE message_id = ?",
                                (messages[promise]["id"],)).fetchall()
    assert "report" in commitment["text"] and commitment["status"] == "active" and commitment["is_from_me"] == 1
    assert commitment["due_at"] is not None  # "tomorrow" resolved to a date
    assert redis_client(redis_server.url).exists(live.debounce_key(conversation_id)) == 0

    # one more message: the next run sends only it, with the previous result, and keeps the commitment
    with LiveSourceWriter(imported / "chat.db", seed=44) as writer:
        writer.write_message(chat_guid=chat_guid, text="Let's have lunch on Friday", from_me=False)
    live_sync.run_pass()
    states = _wait(lambda: _runs_reached(conversation_id, 2), what="the second live run")
    for name in LIVE_PASSES:
        assert (states[name]["runs"], states[name]["messages_analysed"]) == (2, total + 1)
    assert _live_calls() == {PROMPTS[p]: 2 for p in LIVE_PASSES}
    assert db().execute("SELECT count(*) FROM commitments WHERE message_id = ?",
                        (messages[promise]["id"],)).fetchone()[0] == 1
    assert db().execute("SELECT count(*) FROM conversation_analyses WHERE conversation_id = ?",
                        (conversation_id,)).fetchone()[0] == 2

"""What the model said about someone's messages travels to the writer in the task body only: the headers that
Celery copies into events and logs (argsrepr) show the payload's size, not its content."""

from __future__ import annotations

import base64
import json

import pytest
import redis

from backend.analysis import repo
from backend.db.engine import get_engine
from backend.db.session import write_transaction
from backend.worker import queues
from backend.worker.tasks_base import redacted_argsrepr
from tests.analysis.helpers import busiest_conversation, plant_message
from tests.waiting import wait_until

SECRET = "the spare key is under the blue flowerpot"


@pytest.fixture
def celery_worker_names() -> tuple[str, ...]:
    return ("io",)  # no writer: the result stays in the db queue for the test to read


def test_redacted_argsrepr_shows_dicts_by_size():
    assert redacted_argsrepr(7, {"data": SECRET, "model": "m"}) == "(7, <2 keys>)"
    assert redacted_argsrepr("a", [1]) == "('a', [1])"


def test_a_result_sent_to_the_writer_keeps_the_model_output_out_of_its_headers(imported, redis_server,
                                                                                celery_workers):
    conversation_id = busiest_conversation()
    plant_message(conversation_id, SECRET)
    with write_transaction(get_engine()) as conn:
        [job_id] = repo.ensure_jobs(conn, conversation_id=conversation_id, revision=99,
                                    passes=[("basic", "1")], now_ms=0)

    celery_workers.app.send_task("llm.call_llm", args=[job_id])

    broker = redis.Redis.from_url(redis_server.url)
    [raw] = wait_until(lambda: broker.lrange(queues.DB, 0, -1), timeout=40, what="the result in the db queue")
    message = json.loads(raw)
    assert message["headers"]["task"] == "analysis.persist_result"
    assert message["headers"]["argsrepr"].startswith(f"({job_id}, <")
    assert "flowerpot" not in json.dumps(message["headers"])
    args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    assert args[0] == job_id and "flowerpot" in json.dumps(args[1]["data"])  # the writer still gets it all

from __future__ import annotations

import pytest

from backend.llm import LLMPermanentError, embed, stream_text
from tests.llm.conftest import call_rows


def _stream(fake, engine, fast_retry, **overrides):
    kwargs = {"model": "openai/fake-chat", "messages": [{"role": "user", "content": "tell me about lunch"}],
              "prompt_id": "eve.chat", "prompt_version": "2", "api_base": fake.url, "api_key": "sk-test",
              "retry": fast_retry, "engine": engine}
    return stream_text(**{**kwargs, **overrides})


def test_stream_yields_separate_deltas_and_logs_usage(fake_openai, migrated_engine, fast_retry):
    deltas = list(_stream(fake_openai, migrated_engine, fast_retry))

    assert len(deltas) > 5 and all(deltas)
    assert "".join(deltas) == "You said: tell me about lunch. This is the fake model answering in a few words."
    assert fake_openai.requests[0]["stream"] is True
    [row] = call_rows(migrated_engine)
    assert (row["status"], row["purpose"], row["prompt_id"]) == ("ok", "assistant", "eve.chat")
    assert row["tokens_in"] == 4 and row["tokens_out"] > 10  # from the final usage chunk
    assert row["completion_id"].startswith("chatcmpl-fake-")


def test_stream_failure_before_the_first_delta_is_retried(fake_openai, migrated_engine, fast_retry):
    fake_openai.script("500")

    text = "".join(_stream(fake_openai, migrated_engine, fast_retry))

    assert text.startswith("You said:")
    assert [r["status"] for r in call_rows(migrated_engine)] == ["error", "ok"]


def test_stream_permanent_error_raises(fake_openai, migrated_engine, fast_retry):
    fake_openai.script("401")

    with pytest.raises(LLMPermanentError):
        list(_stream(fake_openai, migrated_engine, fast_retry))
    assert fake_openai.calls["/v1/chat/completions"] == 1


def test_stream_closed_early_is_logged(fake_openai, migrated_engine, fast_retry):
    stream = _stream(fake_openai, migrated_engine, fast_retry)
    assert next(stream) == "You "
    stream.close()

    [row] = call_rows(migrated_engine)
    assert row["status"] == "error" and "closed by the caller" in row["error"]


def test_embeddings_come_back_in_order_and_are_logged(fake_openai, migrated_engine, fast_retry):
    texts = ["lunch at noon", "see you tomorrow", "lunch at noon"]

    vectors = embed(model="openai/fake-embed", texts=texts, api_base=fake_openai.url, api_key="sk-test",
                    retry=fast_retry, engine=migrated_engine, batch_size=2)

    assert len(vectors) == 3 and all(len(v) == 8 for v in vectors)
    assert vectors[0] == vectors[2] != vectors[1]
    assert fake_openai.calls["/v1/embeddings"] == 2  # batches of 2
    rows = call_rows(migrated_engine)
    assert [(r["status"], r["purpose"]) for r in rows] == [("ok", "embedding")] * 2
    assert rows[0]["tokens_in"] == 6 and rows[1]["tokens_in"] == 3


def test_embedding_retries_transient_errors(fake_openai, migrated_engine, fast_retry):
    fake_openai.script("500")

    vectors = embed(model="openai/fake-embed", texts=["hi"], api_base=fake_openai.url, api_key="sk-test",
                    retry=fast_retry, engine=migrated_engine)

    assert len(vectors) == 1 and fake_openai.calls["/v1/embeddings"] == 2

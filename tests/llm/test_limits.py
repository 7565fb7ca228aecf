from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import redis

from backend.llm import complete_json, limits
from backend.llm.limits import Limiter, LocalLimitStore, ProviderLimit, RedisLimitStore
from tests.llm.conftest import SCHEMA, call_rows

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["local", "redis"])
def store(request):
    if request.param == "local":
        return LocalLimitStore()
    server = request.getfixturevalue("redis_server")
    return RedisLimitStore(redis.Redis.from_url(server.url))


def test_semaphore_caps_holders_and_release_frees_a_slot(store):
    limit = ProviderLimit(max_concurrency=2, requests_per_minute=0)

    assert store.try_acquire("openai", "a", 60_000, limit)
    assert store.try_acquire("openai", "b", 60_000, limit)
    assert not store.try_acquire("openai", "c", 60_000, limit)
    assert store.try_acquire("anthropic", "x", 60_000, limit)  # limits are per provider
    store.release("openai", "a")
    assert store.try_acquire("openai", "c", 60_000, limit)
    assert store.state("openai", limit).in_use == 2


def test_a_crashed_holder_blocks_only_until_its_lease_expires(store):
    limit = ProviderLimit(max_concurrency=1, requests_per_minute=0)
    assert store.try_acquire("openai", "crashed", 200, limit)  # never released

    assert not store.try_acquire("openai", "next", 60_000, limit)
    time.sleep(0.25)
    assert store.try_acquire("openai", "next", 60_000, limit)


def test_token_bucket_allows_a_burst_then_paces(store):
    limit = ProviderLimit(max_concurrency=4, requests_per_minute=120)  # 2/s, a 6-second burst of 12

    assert [store.take_token("openai", limit) for _ in range(12)] == [0] * 12
    assert 400 <= store.take_token("openai", limit) <= 600  # ms until the next token


def test_slot_and_token_in_one_step_and_release_after_success_raises_the_limits(store):
    limit = ProviderLimit(max_concurrency=2, requests_per_minute=60)  # 1/s, a burst of 6

    assert store.acquire_and_take("openai", "a", 60_000, limit) == 0  # a slot and a token
    assert store.acquire_and_take("openai", "b", 60_000, limit) == 0
    assert store.acquire_and_take("openai", "c", 60_000, limit) is None  # no free slot: no token taken either
    assert store.state("openai", limit).in_use == 2
    for _ in range(4):
        store.take_token("openai", limit)
    store.release_after("openai", "a", limit, succeeded=False)
    assert 900 <= store.acquire_and_take("openai", "c", 60_000, limit) <= 1000  # the slot held, the token due in 1 s

    store.on_rate_limited("openai", limit)
    assert store.state("openai", limit).concurrency == 1
    store.release_after("openai", "b", limit, succeeded=True)
    state = store.state("openai", limit)
    assert (state.in_use, state.concurrency) == (1, 2)  # released, and raised by 1/concurrency


def test_429_halves_the_limits_once_per_burst_and_successes_raise_them_slowly(store):
    limit = ProviderLimit(max_concurrency=8, requests_per_minute=600)

    store.on_rate_limited("openai", limit)
    store.on_rate_limited("openai", limit)  # same burst of 429s: counted once
    state = store.state("openai", limit)
    assert (state.concurrency, state.requests_per_minute) == (4, 300)

    store.on_success("openai", limit)
    assert store.state("openai", limit).concurrency == pytest.approx(4.25)
    for _ in range(40):
        store.on_success("openai", limit)
    state = store.state("openai", limit)
    assert (state.concurrency, state.requests_per_minute) == (8, 600)  # back up, never above the maximum


def test_limiter_falls_back_in_process_when_redis_is_unreachable(tmp_path):
    limiter = Limiter(RedisLimitStore(redis.Redis(unix_socket_path=str(tmp_path / "nothing.sock"))),
                      fallback=LocalLimitStore())

    with limiter.slot("openai", timeout_s=1) as lease:
        assert limiter.state("openai").in_use == 1
        lease.refresh(force=True)
    assert limiter.state("openai").in_use == 0


def test_a_429_lowers_the_limit_every_process_sees(redis_server, fake_openai, migrated_engine, fast_retry,
                                                   monkeypatch):
    monkeypatch.setitem(limits.PROVIDER_DEFAULTS, "openai", (4, 600))
    fake_openai.retry_after = "0"
    fake_openai.script("429")

    complete_json(model="openai/fake-model", messages=[{"role": "user", "content": "hi"}], schema=SCHEMA,
                  prompt_id="p", prompt_version="1", api_base=fake_openai.url, api_key="k", retry=fast_retry,
                  engine=migrated_engine)

    elsewhere = Limiter(RedisLimitStore(redis.Redis.from_url(redis_server.url)))
    state = elsewhere.state("openai")
    assert state.concurrency == pytest.approx(2.5)  # halved from 4, then + 1/2 for the success
    assert state.requests_per_minute == pytest.approx(312)  # halved from 600, then + 2 % of 600
    assert state.in_use == 0


CHILD = textwrap.dedent("""
    import sys, threading
    from backend.llm import complete_json, limits
    from tests.llm.conftest import SCHEMA
    limits.PROVIDER_DEFAULTS["openai"] = (2, 0)
    url = sys.argv[1]
    def work(t):
        for i in range(3):
            complete_json(model="openai/fake-model", messages=[{"role": "user", "content": f"child {t} {i}"}],
                          schema=SCHEMA, prompt_id="p", prompt_version="1", api_base=url, api_key="k")
    print("ready", flush=True)
    sys.stdin.readline()
    threads = [threading.Thread(target=work, args=(t,)) for t in range(3)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    print("done", flush=True)
""")


def test_concurrency_limit_is_shared_by_threads_and_processes_through_redis(
    redis_server, fake_openai, migrated_engine, monkeypatch
):
    monkeypatch.setitem(limits.PROVIDER_DEFAULTS, "openai", (2, 0))
    fake_openai.latency_s = 0.15
    child = subprocess.Popen([sys.executable, "-c", CHILD, fake_openai.url], cwd=REPO_ROOT, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env={**__import__("os").environ, "PYTHONPATH": str(REPO_ROOT)})
    try:
        assert child.stdout.readline().strip() == "ready"
        errors: list[BaseException] = []

        def work(t: int) -> None:
            try:
                for i in range(3):
                    complete_json(model="openai/fake-model", messages=[{"role": "user", "content": f"parent {t} {i}"}],
                                  schema=SCHEMA, prompt_id="p", prompt_version="1", api_base=fake_openai.url,
                                  api_key="k", engine=migrated_engine)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(3)]
        child.stdin.write("go\n")
        child.stdin.flush()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        out, _ = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    assert child.returncode == 0 and "done" in out, out
    assert not errors
    assert fake_openai.calls["/v1/chat/completions"] == 18
    assert fake_openai.max_in_flight == 2  # never more than the limit, and the limit was used
    rows = call_rows(migrated_engine)
    assert len(rows) == 18 and {r["status"] for r in rows} == {"ok"}
    assert Limiter(RedisLimitStore(redis.Redis.from_url(redis_server.url))).state("openai").in_use == 0

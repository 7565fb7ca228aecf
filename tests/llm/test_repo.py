from __future__ import annotations

import sqlite3

from backend.config import get_settings
from backend.db.session import run_write, session_scope
from backend.llm import cache, repo


def test_migration_creates_the_llm_tables(migrated_engine):
    with sqlite3.connect(get_settings().central_db_path) as conn:
        calls = {row[1] for row in conn.execute("PRAGMA table_info(llm_calls)")}
        cached = {row[1] for row in conn.execute("PRAGMA table_info(llm_cache)")}
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'llm_calls'")}
    assert calls == {"id", "created_at", "model", "provider", "prompt_id", "prompt_version", "purpose", "tokens_in",
                     "tokens_out", "cost_usd", "latency_ms", "status", "error", "completion_id", "request_hash"}
    assert cached == {"request_hash", "model", "response", "created_at"}
    assert {"ix_llm_calls_created", "ix_llm_calls_prompt", "ix_llm_calls_status"} <= indexes


def test_calls_are_listed_newest_first_and_filtered(migrated_engine):
    def record(status: str, prompt_id: str) -> repo.CallRecord:
        return repo.CallRecord(created_at=1, model="m", provider="p", prompt_id=prompt_id, prompt_version="1",
                               purpose="analysis", status=status)

    ids = [run_write(lambda conn, r=r: repo.create_call(conn, record=r), engine=migrated_engine)
           for r in (record("ok", "a"), record("error", "a"), record("cached", "b"))]

    with session_scope(migrated_engine) as conn:
        assert [r["id"] for r in repo.list_calls(conn)] == ids[::-1]
        assert [r["id"] for r in repo.list_calls(conn, prompt_id="a", status="error")] == [ids[1]]


def test_cache_key_is_canonical_and_entries_round_trip(migrated_engine):
    messages = [{"role": "user", "content": "hi"}]
    key = cache.request_hash(model="m", messages=messages, schema={"b": 1, "a": 2}, temperature=0)
    assert key == cache.request_hash(model="m", messages=messages, schema={"a": 2, "b": 1}, temperature=0.0)
    assert key != cache.request_hash(model="m2", messages=messages, schema={"a": 2, "b": 1}, temperature=0)

    assert cache.get(key, engine=migrated_engine) is None
    cache.put(key, model="m", entry={"data": {"x": 1}}, engine=migrated_engine)
    cache.put(key, model="m", entry={"data": {"x": 2}}, engine=migrated_engine)  # replaces
    assert cache.get(key, engine=migrated_engine) == {"data": {"x": 2}}
    assert run_write(lambda conn: repo.delete_cached(conn), engine=migrated_engine) == 1

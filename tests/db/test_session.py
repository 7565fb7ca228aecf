from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy.exc import OperationalError

from backend.db.engine import connect_raw, create_db_engine
from backend.db.session import execute_write, fetch_all, fetch_one, session_scope, write_transaction


@pytest.fixture
def engine(tmp_path):
    engine = create_db_engine(tmp_path / "t.db", busy_timeout_ms=50)
    with write_transaction(engine) as conn:
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    yield engine
    engine.dispose()


def test_connections_carry_the_pragmas(engine):
    with session_scope(engine) as conn:
        assert fetch_one(conn, "PRAGMA journal_mode")["journal_mode"] == "wal"
        assert fetch_one(conn, "PRAGMA foreign_keys")["foreign_keys"] == 1
        assert fetch_one(conn, "PRAGMA synchronous")["synchronous"] == 1  # NORMAL
        assert fetch_one(conn, "PRAGMA busy_timeout")["timeout"] == 50


def test_write_transaction_rolls_back_on_error(engine):
    with pytest.raises(RuntimeError), write_transaction(engine) as conn:
        conn.exec_driver_sql("INSERT INTO t (v) VALUES ('lost')")
        raise RuntimeError("boom")
    with session_scope(engine) as conn:
        assert fetch_all(conn, "SELECT v FROM t") == []


def test_nested_write_transaction_uses_a_savepoint(engine):
    with write_transaction(engine) as conn:
        conn.exec_driver_sql("INSERT INTO t (v) VALUES ('outer')")
        with pytest.raises(ValueError), write_transaction(conn):
            conn.exec_driver_sql("INSERT INTO t (v) VALUES ('inner')")
            raise ValueError
    with session_scope(engine) as conn:
        assert [r["v"] for r in fetch_all(conn, "SELECT v FROM t")] == ["outer"]


def test_write_transaction_takes_the_lock_up_front(engine, tmp_path):
    other = connect_raw(tmp_path / "t.db", busy_timeout_ms=0)
    with write_transaction(engine), pytest.raises(Exception, match="locked"):
        other.execute("BEGIN IMMEDIATE")
    other.close()


def test_execute_write_retries_while_another_connection_holds_the_lock(engine, tmp_path):
    holder = connect_raw(tmp_path / "t.db")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t (v) VALUES ('holder')")
    released = threading.Event()

    def release_later() -> None:
        time.sleep(0.4)  # far longer than the engine's 50 ms busy_timeout
        holder.execute("COMMIT")
        released.set()

    threading.Thread(target=release_later).start()
    started = time.monotonic()
    assert execute_write("INSERT INTO t (v) VALUES (:v)", {"v": "contender"}, engine=engine) == 1
    assert released.is_set() and time.monotonic() - started >= 0.35
    with session_scope(engine) as conn:
        assert [r["v"] for r in fetch_all(conn, "SELECT v FROM t ORDER BY id")] == ["holder", "contender"]
    holder.close()


def test_execute_write_gives_up_after_its_retries(engine, tmp_path):
    holder = connect_raw(tmp_path / "t.db")
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(OperationalError, match="locked"):
        execute_write("INSERT INTO t (v) VALUES ('x')", engine=engine, retries=1)
    holder.execute("ROLLBACK")
    holder.close()

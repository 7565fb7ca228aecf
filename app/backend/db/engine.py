"""The one module that opens central.db: WAL, busy_timeout, foreign keys, synchronous=NORMAL."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import QueuePool

from backend.config import get_settings

BUSY_TIMEOUT_MS = 5_000

_engines: dict[Path, Engine] = {}
_lock = threading.Lock()


def apply_pragmas(conn: sqlite3.Connection, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
    """The pragmas every connection that serves reads or writes must carry."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")


def connect_raw(path: Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    """A plain sqlite3 connection with our pragmas, in autocommit mode (we issue BEGIN ourselves)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    apply_pragmas(conn, busy_timeout_ms=busy_timeout_ms)
    return conn


def create_db_engine(path: Path, *, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Engine:
    """An engine over one SQLite file. Transactions start with the BEGIN mode set in `conn.info`."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        path.touch(mode=0o600)  # SQLite gives its -wal and -shm files the same mode
    engine = create_engine(
        f"sqlite+pysqlite:///{path}",
        poolclass=QueuePool,
        pool_size=8,
        max_overflow=8,
        connect_args={"check_same_thread": False, "isolation_level": None},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # the driver must not start transactions behind our back
        apply_pragmas(dbapi_conn, busy_timeout_ms=busy_timeout_ms)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.info.get("begin_mode", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def get_engine(path: Path | None = None) -> Engine:
    """The process-wide engine of central.db (or of `path`)."""
    target = (path or get_settings().central_db_path).expanduser().resolve()
    with _lock:
        engine = _engines.get(target)
        if engine is None:
            engine = create_db_engine(target)
            _engines[target] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (before swapping the database file, and in tests)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()

"""Transactions and query helpers. The only place that owns BEGIN/COMMIT/ROLLBACK."""

from __future__ import annotations

import logging
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from backend.db.engine import get_engine

log = logging.getLogger(__name__)
T = TypeVar("T")

LOCK_RETRIES = 8
LOCK_BASE_DELAY_S = 0.02
LOCK_MAX_DELAY_S = 1.0


def is_locked_error(exc: BaseException) -> bool:
    message = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in message or "database table is locked" in message or "busy" in message


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Connection]:
    """A read (deferred) transaction: commits on success, rolls back and re-raises on error."""
    with (engine or get_engine()).connect() as conn:
        conn.info["begin_mode"] = "DEFERRED"
        with conn.begin():
            yield conn


@contextmanager
def _connected(target: Engine | Connection | None) -> Iterator[Connection]:
    """The given connection as it is, or a new one from the engine (closed afterwards)."""
    if isinstance(target, Connection):
        yield target
        return
    with (target or get_engine()).connect() as conn:
        yield conn


@contextmanager
def write_transaction(target: Engine | Connection | None = None) -> Iterator[Connection]:
    """A write transaction that takes the write lock up front (BEGIN IMMEDIATE).

    Given a Connection already in a transaction, nests with a SAVEPOINT instead.
    """
    if isinstance(target, Connection) and target.in_transaction():
        with target.begin_nested():
            yield target
        return
    with _connected(target) as conn:
        conn.info["begin_mode"] = "IMMEDIATE"
        try:
            with conn.begin():
                yield conn
        finally:
            conn.info["begin_mode"] = "DEFERRED"


def retry_locked(fn: Callable[[], T], *, retries: int = LOCK_RETRIES) -> T:
    """Run `fn`, retrying `database is locked` with jittered exponential backoff."""
    attempt = 0
    while True:
        try:
            return fn()
        except OperationalError as exc:
            if not is_locked_error(exc) or attempt >= retries:
                raise
            delay = min(LOCK_MAX_DELAY_S, LOCK_BASE_DELAY_S * 2**attempt) * (0.5 + random.random())
            attempt += 1
            log.warning("database is locked; retry %d/%d in %.0f ms", attempt, retries, delay * 1000)
            time.sleep(delay)


def sqlite_of(conn: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under a SQLAlchemy one, for the statements SQLAlchemy does not help with."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


def inserted_rowid(cursor: sqlite3.Cursor) -> int:
    """The ROWID an INSERT on this cursor gave its row."""
    rowid = cursor.lastrowid
    if rowid is None:
        raise RuntimeError("the statement inserted no row")
    return rowid


def fetch_one(conn: Connection, sql: str, params: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    row = conn.execute(text(sql), dict(params or {})).mappings().first()
    return dict(row) if row is not None else None


def fetch_all(conn: Connection, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(text(sql), dict(params or {})).mappings()]


def fetch_value(conn: Connection, sql: str, params: Mapping[str, Any] | None = None) -> Any:
    return conn.execute(text(sql), dict(params or {})).scalar()


def execute(conn: Connection, sql: str, params: Mapping[str, Any] | None = None) -> int:
    """Run one statement on a connection already in a transaction; returns rows affected."""
    return conn.execute(text(sql), dict(params or {})).rowcount


def execute_write(
    sql: str,
    params: Mapping[str, Any] | None = None,
    *,
    engine: Engine | None = None,
    retries: int = LOCK_RETRIES,
) -> int:
    """Run one write statement in its own IMMEDIATE transaction, retrying when the database is locked."""

    def _run() -> int:
        with write_transaction(engine) as conn:
            return execute(conn, sql, params)

    return retry_locked(_run, retries=retries)


def run_write(
    fn: Callable[[Connection], T], *, engine: Engine | None = None, retries: int = LOCK_RETRIES
) -> T:
    """Run `fn(conn)` inside one IMMEDIATE transaction, retrying the whole unit when locked."""

    def _run() -> T:
        with write_transaction(engine) as conn:
            return fn(conn)

    return retry_locked(_run, retries=retries)

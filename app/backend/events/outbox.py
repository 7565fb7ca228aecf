"""SQL of event_outbox: durable events written in the transaction of the change that causes them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from backend.db.clock import now_ms
from backend.db.session import inserted_rowid, sqlite_of
from backend.events.types import to_payload


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: int
    name: str
    payload: dict[str, Any]
    created_at: int


def record(conn: Connection, events: Sequence[Any]) -> list[StoredEvent]:
    """Append events (inside the caller's write transaction); returns them with their ids."""
    raw = sqlite_of(conn)
    now = now_ms()
    stored = []
    for evt in events:
        payload = to_payload(evt)
        cursor = raw.execute(
            "INSERT INTO event_outbox (name, payload, created_at) VALUES (?, ?, ?)",
            (evt.name, json.dumps(payload, separators=(",", ":")), now),
        )
        stored.append(StoredEvent(inserted_rowid(cursor), evt.name, payload, now))
    return stored


def list_after(conn: Connection, *, after_id: int, names: Sequence[str] | None = None,
               limit: int = 10_000) -> list[StoredEvent]:
    """Events with id > after_id, oldest first (replay for a client that reconnects)."""
    params: list[Any] = [after_id]
    where = ""
    if names:
        where = f"AND name IN ({','.join('?' * len(names))})"
        params.extend(names)
    params.append(limit)
    rows = sqlite_of(conn).execute(
        f"SELECT id, name, payload, created_at FROM event_outbox WHERE id > ? {where} ORDER BY id LIMIT ?",
        params,
    ).fetchall()
    return [StoredEvent(i, n, json.loads(p), c) for i, n, p, c in rows]


def latest_id(conn: Connection) -> int:
    return sqlite_of(conn).execute(
        "SELECT coalesce(max(id), 0) FROM event_outbox").fetchone()[0]


def list_unrelayed(conn: Connection, *, limit: int) -> list[StoredEvent]:
    rows = sqlite_of(conn).execute(
        "SELECT id, name, payload, created_at FROM event_outbox WHERE relayed_at IS NULL ORDER BY id LIMIT ?",
        (limit,),
    ).fetchall()
    return [StoredEvent(i, n, json.loads(p), c) for i, n, p, c in rows]


def mark_relayed(conn: Connection, ids: Sequence[int], *, at: int) -> None:
    sqlite_of(conn).execute(
        "UPDATE event_outbox SET relayed_at = ? WHERE id IN (SELECT value FROM json_each(?))",
        (at, json.dumps(list(ids))),
    )

"""Commitments: the list a user works through, and the actions that move one between states.

Every action runs in one write transaction: it reads the commitment, checks the transition, updates
it and writes a `commitment_events` row. An action that would change nothing (completing a complete
one, snoozing to the same time) writes nothing, so repeating a request is harmless.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine

from backend.commitments import repo
from backend.commitments.exceptions import CommitmentNotFound, InvalidCommitmentTransition, InvalidSnoozeTime
from backend.commitments.schemas import Commitment, CommitmentDetail, CommitmentEvent, CommitmentList, StatusFilter
from backend.db.clock import now_ms
from backend.db.session import run_write, session_scope

# action -> (event it writes, effective statuses it may start from, the status it leads to)
TRANSITIONS: dict[str, tuple[str, frozenset[str], str]] = {
    "complete": ("completed", frozenset({"active", "snoozed"}), "complete"),
    "cancel": ("cancelled", frozenset({"active", "snoozed"}), "cancelled"),
    "snooze": ("snoozed", frozenset({"active", "snoozed"}), "snoozed"),
    "reopen": ("reopened", frozenset({"complete", "cancelled", "snoozed"}), "active"),
}


def _commitment(row: dict[str, Any]) -> Commitment:
    return Commitment(**{k: v for k, v in row.items() if k not in ("committed_to_json", "status", "effective_status")},
                      status=row["effective_status"], committed_to=json.loads(row["committed_to_json"] or "[]"))


def _detail(conn: Connection, row: dict[str, Any]) -> CommitmentDetail:
    events = [CommitmentEvent(id=e["id"], event=e["event"], at=e["at"], details=json.loads(e["details_json"]))
              for e in repo.list_events(conn, commitment_id=row["id"])]
    return CommitmentDetail(**_commitment(row).model_dump(), events=events)


def _require(conn: Connection, commitment_id: int, at: int) -> dict[str, Any]:
    row = repo.get(conn, commitment_id=commitment_id, now_ms=at)
    if row is None:
        raise CommitmentNotFound(f"No commitment {commitment_id}; GET /api/commitments lists them.",
                                 commitment_id=commitment_id)
    return row


def list_commitments(engine: Engine, *, status: StatusFilter = "active", chat_id: int | None = None,
                     limit: int = 200) -> CommitmentList:
    """Commitments by effective status; active ones due soonest first."""
    with session_scope(engine) as conn:
        rows = repo.list_commitments(conn, status=None if status == "all" else status, chat_id=chat_id,
                                     now_ms=now_ms(), limit=limit)
    return CommitmentList(commitments=[_commitment(r) for r in rows])


def get_commitment(engine: Engine, commitment_id: int) -> CommitmentDetail:
    with session_scope(engine) as conn:
        return _detail(conn, _require(conn, commitment_id, now_ms()))


def _act(engine: Engine, commitment_id: int, action: str, *, until: int | None = None) -> CommitmentDetail:
    event, allowed, target = TRANSITIONS[action]

    def write(conn: Connection) -> CommitmentDetail:
        at = now_ms()
        row = _require(conn, commitment_id, at)
        current = row["effective_status"]
        unchanged = current == target and (target != "snoozed" or row["snoozed_until"] == until)
        if unchanged:
            return _detail(conn, row)
        if current not in allowed:
            raise InvalidCommitmentTransition(
                f"Cannot {action} commitment {commitment_id}: it is {current}. "
                + ("Reopen it first." if current in ("complete", "cancelled") else ""),
                commitment_id=commitment_id, status=current, action=action)
        repo.update_status(conn, commitment_id=commitment_id, status=target,
                           snoozed_until=until if target == "snoozed" else None, now_ms=at)
        details: dict[str, Any] = {"from": current}
        if target == "snoozed":
            details["until"] = until
        repo.create_event(conn, commitment_id=commitment_id, event=event, details=details, now_ms=at)
        return _detail(conn, _require(conn, commitment_id, at))

    return run_write(write, engine=engine)


def complete(engine: Engine, commitment_id: int) -> CommitmentDetail:
    return _act(engine, commitment_id, "complete")


def cancel(engine: Engine, commitment_id: int) -> CommitmentDetail:
    return _act(engine, commitment_id, "cancel")


def reopen(engine: Engine, commitment_id: int) -> CommitmentDetail:
    return _act(engine, commitment_id, "reopen")


def snooze(engine: Engine, commitment_id: int, *, until: int) -> CommitmentDetail:
    if until <= now_ms():
        raise InvalidSnoozeTime(f"Cannot snooze until {until}: pass a time in the future (unix ms).", until=until)
    return _act(engine, commitment_id, "snooze", until=until)

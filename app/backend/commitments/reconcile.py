"""Reconciliation: a later conversation that keeps ("sent!"), withdraws ("can't make it after all") or
moves ("Saturday instead?") an open commitment of the same chat closes or updates it.

Stage one (`previous_commitments`, reads only) lists the chat's open commitments from earlier
conversations in the shape the `commitment-reconciliation-v1` prompt reads; the commitments pass asks
the model with it (analysis/passes.py). Stage two (`apply_updates`, inside the persist transaction)
applies the model's `updates`: `done` completes, `cancelled` cancels, a new `due_at` reschedules, each
with a `commitment_events` row naming the message that showed it. Commitments the user closed or
reopened meanwhile are left alone: only ones still open when the result is written change.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from backend.analysis.context import iso_local
from backend.commitments import repo

LOOKBACK_MS = 60 * 86_400_000  # commitments of conversations that ended up to 60 days before this one
MAX_PREVIOUS = 50  # as the commitments pack's known_commitments slice allows
STATUS_OF = {"done": ("complete", "completed"), "cancelled": ("cancelled", "cancelled")}


def previous_commitments(conn: Connection, *, chat_id: int, conversation_id: int, now_ms: int) -> list[dict[str, Any]]:
    return [
        {"id": row["id"], "message_id": row["message_id"], "committed_by": row["committed_by"],
         "committed_to": json.loads(row["committed_to_json"] or "[]"), "text": row["text"],
         "due_at": iso_local(row["due_at"]) if row["due_at"] is not None else None, "status": "open"}
        for row in reversed(repo.list_open_before(conn, chat_id=chat_id, conversation_id=conversation_id,
                                                  now_ms=now_ms, window_ms=LOOKBACK_MS, limit=MAX_PREVIOUS))
    ]


def apply_updates(conn: Connection, *, updates: list[dict[str, Any]], previous: list[dict[str, Any]],
                  message_ids: frozenset[int], due_at_ms: Any, now_ms: int) -> dict[str, int]:
    """Apply the model's updates to the commitments it was shown (others are ignored); counts by outcome."""
    shown = {item["id"]: item for item in previous}
    counts = {"completed": 0, "cancelled": 0, "rescheduled": 0}
    for update in updates:
        try:
            commitment_id = int(update["id"])
        except (KeyError, TypeError, ValueError):
            continue
        if commitment_id not in shown:
            continue
        row = repo.get(conn, commitment_id=commitment_id, now_ms=now_ms)
        if row is None or row["effective_status"] not in ("active", "snoozed"):
            continue
        evidence = str(update.get("evidence_message_id"))
        known = evidence.isdigit() and int(evidence) in message_ids
        details = {"source": "reconciliation", "evidence_message_id": int(evidence) if known else None}
        status = STATUS_OF.get(str(update.get("status")))
        if status is not None:
            target, event = status
            repo.update_status(conn, commitment_id=commitment_id, status=target, snoozed_until=None, now_ms=now_ms)
            repo.create_event(conn, commitment_id=commitment_id, event=event,
                              details={**details, "from": row["effective_status"]}, now_ms=now_ms)
            counts[event] += 1
            continue
        due = due_at_ms(update.get("due_at"))
        if update.get("due_at") != shown[commitment_id]["due_at"] and due is not None and due != row["due_at"]:
            repo.update_due(conn, commitment_id=commitment_id, due_at=due, now_ms=now_ms)
            repo.create_event(conn, commitment_id=commitment_id, event="rescheduled",
                              details={**details, "from": row["due_at"], "to": due}, now_ms=now_ms)
            counts["rescheduled"] += 1
    return counts

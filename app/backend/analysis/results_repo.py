"""SQL of analysis results: conversation_analyses and its findings, commitments and their events.

The writes of `persist_result` run once per model result on the single writer, so they go through the
driver connection of the caller's transaction (`_raw`): the same transaction, without SQLAlchemy's
per-statement compile and result-wrapping cost.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sqlalchemy import Connection

from backend.db.session import fetch_all, fetch_one, sqlite_of

FINDING_TABLES = ("entities", "topics", "emotions", "humor_items")
_COLUMNS = {
    "entities": ("participant", "contact_id", "kind", "text", "value", "message_id", "mentions"),
    "topics": ("participant", "contact_id", "topic", "weight"),
    "emotions": ("participant", "contact_id", "emotion", "score"),
    "humor_items": ("participant", "contact_id", "message_id", "text", "reason", "laughed_by"),
}
_JSON_COLUMNS = frozenset({"reason", "laughed_by", "committed_to"})


_INSERT_FINDINGS = {
    table: (f"INSERT INTO {table} (analysis_id, conversation_id, chat_id, {', '.join(columns)}) "
            f"VALUES (?, ?, ?, {', '.join('?' for _ in columns)})")
    for table, columns in _COLUMNS.items()
}


def _raw(conn: Connection) -> sqlite3.Connection:
    """The sqlite3 connection under `conn`, in the transaction `conn` holds."""
    return sqlite_of(conn)


def list_message_ids(conn: Connection, *, conversation_id: int) -> list[int]:
    return [r[0] for r in _raw(conn).execute("SELECT id FROM messages WHERE conversation_id = ?",
                                             (conversation_id,))]


def get_analysis(conn: Connection, *, conversation_id: int, pass_name: str) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM conversation_analyses WHERE conversation_id = :c AND pass_name = :p",
                     {"c": conversation_id, "p": pass_name})


def upsert_analysis(conn: Connection, *, analysis: dict[str, Any], now_ms: int) -> int | None:
    """Insert or replace a pass's analysis of a conversation; its id, or None when a newer revision is stored."""
    row = _raw(conn).execute("""
        INSERT INTO conversation_analyses (conversation_id, chat_id, pass_name, prompt_id, prompt_version, model,
            completion_id, revision, job_id, status, summary, result, tokens_in, tokens_out, cost_usd,
            created_at, updated_at)
        VALUES (:conversation_id, :chat_id, :pass_name, :prompt_id, :prompt_version, :model, :completion_id,
            :revision, :job_id, 'done', :summary, :result, :tokens_in, :tokens_out, :cost_usd, :now, :now)
        ON CONFLICT (conversation_id, pass_name) DO UPDATE SET
            chat_id = excluded.chat_id, prompt_id = excluded.prompt_id, prompt_version = excluded.prompt_version,
            model = excluded.model, completion_id = excluded.completion_id, revision = excluded.revision,
            job_id = excluded.job_id, status = excluded.status, summary = excluded.summary,
            result = excluded.result, tokens_in = excluded.tokens_in, tokens_out = excluded.tokens_out,
            cost_usd = excluded.cost_usd, updated_at = excluded.updated_at
        WHERE excluded.revision >= conversation_analyses.revision
        RETURNING id
    """, {**analysis, "result": json.dumps(analysis["result"], ensure_ascii=False), "now": now_ms}).fetchone()
    return row[0] if row is not None else None


def delete_findings(conn: Connection, *, analysis_id: int) -> int:
    raw = _raw(conn)
    return sum(raw.execute(f"DELETE FROM {table} WHERE analysis_id = ?", (analysis_id,)).rowcount
               for table in FINDING_TABLES)


def create_findings(conn: Connection, *, table: str, analysis_id: int, conversation_id: int, chat_id: int,
                    rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    columns = _COLUMNS[table]
    params = [(analysis_id, conversation_id, chat_id, *(_db_value(c, row.get(c)) for c in columns)) for row in rows]
    _raw(conn).executemany(_INSERT_FINDINGS[table], params)
    return len(params)


def list_findings(conn: Connection, *, table: str, conversation_id: int) -> list[dict[str, Any]]:
    return fetch_all(conn, f"SELECT * FROM {table} WHERE conversation_id = :c ORDER BY id",
                     {"c": conversation_id})


def get_commitment_by_fingerprint(conn: Connection, *, fingerprint: str) -> dict[str, Any] | None:
    return fetch_one(conn, "SELECT * FROM commitments WHERE fingerprint = :f", {"f": fingerprint})


def list_commitments_by_fingerprint(conn: Connection, *, fingerprints: list[str]) -> dict[str, dict[str, Any]]:
    """The stored commitments of these fingerprints (one query), by fingerprint."""
    if not fingerprints:
        return {}
    cursor = _raw(conn).execute(
        "SELECT * FROM commitments WHERE fingerprint IN (SELECT value FROM json_each(?))", (json.dumps(fingerprints),))
    names = [d[0] for d in cursor.description]
    return {row["fingerprint"]: row for row in (dict(zip(names, values, strict=True)) for values in cursor)}


def create_commitment(conn: Connection, *, commitment: dict[str, Any], now_ms: int) -> int:
    return _raw(conn).execute("""
        INSERT INTO commitments (conversation_id, chat_id, message_id, committed_by, committer_contact_id,
            is_from_me, committed_to, text, due_at, due_text, confidence, fingerprint, analysis_id,
            created_at, updated_at)
        VALUES (:conversation_id, :chat_id, :message_id, :committed_by, :committer_contact_id, :is_from_me,
            :committed_to, :text, :due_at, :due_text, :confidence, :fingerprint, :analysis_id, :now, :now)
        RETURNING id
    """, {**{k: _db_value(k, v) for k, v in commitment.items()}, "now": now_ms}).fetchone()[0]


def update_commitment(conn: Connection, *, commitment_id: int, changes: dict[str, Any], now_ms: int) -> int:
    columns = sorted(changes)
    sets = ", ".join(f"{c} = :{c}" for c in columns)
    return _raw(conn).execute(f"UPDATE commitments SET {sets}, updated_at = :now WHERE id = :id",
                              {**{c: _db_value(c, changes[c]) for c in columns}, "now": now_ms,
                               "id": commitment_id}).rowcount


def create_commitment_event(conn: Connection, *, commitment_id: int, event: str, details: dict[str, Any],
                            now_ms: int) -> None:
    _raw(conn).execute("INSERT INTO commitment_events (commitment_id, event, at, details) VALUES (?, ?, ?, ?)",
                       (commitment_id, event, now_ms, json.dumps(details, ensure_ascii=False)))


def list_commitments(conn: Connection, *, chat_id: int) -> list[dict[str, Any]]:
    return fetch_all(conn, "SELECT * FROM commitments WHERE chat_id = :c ORDER BY id", {"c": chat_id})


def _db_value(column: str, value: Any) -> Any:
    if column in _JSON_COLUMNS and not isinstance(value, str):
        return json.dumps(value if value is not None else [], ensure_ascii=False)
    if isinstance(value, bool):
        return int(value)
    return value

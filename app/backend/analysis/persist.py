"""Stage two of a model pass: write a job's result, all of it in one write transaction.

The pass's rows of the conversation are replaced (the analysis row upserted, its entities, topics,
emotions and humour deleted and inserted again), commitments are upserted by fingerprint with a
`created` or `updated` event, `analysis.job_done` goes to the outbox (search embeds the new analysis),
and the job is marked done. Persisting the same job twice leaves the same
rows: the second time finds the job done and writes nothing; a result of an older revision than the one
stored marks its job done and changes nothing else.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from sqlalchemy import Connection, Engine

from backend.analysis import registry, repo, results_repo
from backend.analysis.passes import due_at_ms
from backend.analysis.registry import FindingsContext
from backend.commitments import reconcile
from backend.db.clock import now_ms
from backend.db.session import run_write
from backend.events import outbox
from backend.events.types import AnalysisJobDone

COMMITMENT_FIELDS = ("conversation_id", "message_id", "committed_by", "committer_contact_id", "is_from_me",
                     "committed_to", "text", "due_at", "due_text", "confidence", "analysis_id")


def persist_result(engine: Engine, job_id: int, payload: dict[str, Any]) -> bool:
    """Write the result of `call_llm` for this job; False when the job is done already (or gone)."""

    def write(conn: Connection) -> bool:
        job = repo.get_job(conn, job_id=job_id)
        if job is None or job["status"] == "done":
            return False
        at = now_ms()
        outcome = replace_results(conn, payload={**payload, "revision": job["revision"], "job_id": job_id},
                                  now_ms=at)
        repo.finish_job(conn, job_id=job_id, result=outcome, now_ms=at)
        return True

    return run_write(write, engine=engine)


def replace_results(conn: Connection, *, payload: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """Replace a pass's results of one conversation (in the caller's transaction); what was written."""
    analysis_pass = registry.get(payload["pass_name"])
    assert analysis_pass.findings is not None, f"pass {analysis_pass.name} has no model findings"
    conversation_id, chat_id = payload["conversation_id"], payload["chat_id"]
    ctx = FindingsContext(
        conversation_id=conversation_id, chat_id=chat_id, contact_ids=dict(payload.get("contact_ids") or {}),
        message_ids=frozenset(results_repo.list_message_ids(conn, conversation_id=conversation_id)),
    )
    findings = analysis_pass.findings(payload["data"], ctx)
    analysis_id = results_repo.upsert_analysis(conn, analysis={
        "conversation_id": conversation_id, "chat_id": chat_id, "pass_name": analysis_pass.name,
        "prompt_id": payload["prompt_id"], "prompt_version": payload["prompt_version"], "model": payload["model"],
        "completion_id": payload.get("completion_id"), "revision": payload["revision"],
        "job_id": payload.get("job_id"), "summary": findings.summary, "result": payload["data"],
        "tokens_in": payload.get("tokens_in") or 0, "tokens_out": payload.get("tokens_out") or 0,
        "cost_usd": payload.get("cost_usd") or 0.0,
    }, now_ms=now_ms)
    if analysis_id is None:
        return {"stale": True, "revision": payload["revision"]}
    results_repo.delete_findings(conn, analysis_id=analysis_id)
    counts: dict[str, Any] = {
        table: results_repo.create_findings(conn, table=table, analysis_id=analysis_id,
                                            conversation_id=conversation_id, chat_id=chat_id,
                                            rows=getattr(findings, table))
        for table in results_repo.FINDING_TABLES
    }
    commitments = [{**c, "conversation_id": conversation_id, "chat_id": chat_id, "analysis_id": analysis_id}
                   for c in findings.commitments]
    fingerprints = [fingerprint(chat_id=chat_id, committer=committer_key(c), text=c["text"]) for c in commitments]
    stored = results_repo.list_commitments_by_fingerprint(conn, fingerprints=list(dict.fromkeys(fingerprints)))
    seen: set[str] = set()
    events = []
    for commitment, fp in zip(commitments, fingerprints, strict=True):
        # a fingerprint met twice in one result is read again: the first one wrote it
        existing = (results_repo.get_commitment_by_fingerprint(conn, fingerprint=fp) if fp in seen
                    else stored.get(fp))
        seen.add(fp)
        events.append(ensure_commitment(conn, commitment=commitment, fp=fp, existing=existing,
                                        now_ms=now_ms))
    counts["commitments"] = len(events)
    if payload.get("reconciliation"):
        counts["reconciled"] = reconcile.apply_updates(
            conn, updates=payload["reconciliation"]["updates"], previous=payload["reconciliation"]["previous"],
            message_ids=ctx.message_ids, due_at_ms=due_at_ms, now_ms=now_ms)
    outbox.record(conn, [AnalysisJobDone(job_id=payload.get("job_id"), conversation_id=conversation_id,
                                         pass_name=analysis_pass.name)])
    return {"analysis_id": analysis_id, "model": payload["model"], "counts": counts,
            "commitment_events": {e: events.count(e) for e in ("created", "updated", "unchanged") if e in events}}


def ensure_commitment(conn: Connection, *, commitment: dict[str, Any], fp: str, existing: dict[str, Any] | None,
                      now_ms: int) -> str:
    """Upsert one commitment by its fingerprint `fp`, given the row stored under it (None when there is none);
    "created", "updated" (with an event) or "unchanged"."""
    if existing is None:
        commitment_id = results_repo.create_commitment(conn, commitment={
            **{k: commitment.get(k) for k in COMMITMENT_FIELDS}, "chat_id": commitment["chat_id"],
            "fingerprint": fp}, now_ms=now_ms)
        results_repo.create_commitment_event(conn, commitment_id=commitment_id, event="created", now_ms=now_ms,
                                             details={"message_id": commitment.get("message_id"),
                                                      "due_at": commitment.get("due_at")})
        return "created"
    stored = {k: _comparable(k, existing[k]) for k in COMMITMENT_FIELDS}
    changes = {k: commitment.get(k) for k in COMMITMENT_FIELDS if _comparable(k, commitment.get(k)) != stored[k]}
    if not changes:
        return "unchanged"
    results_repo.update_commitment(conn, commitment_id=existing["id"], changes=changes, now_ms=now_ms)
    results_repo.create_commitment_event(conn, commitment_id=existing["id"], event="updated", now_ms=now_ms,
                                         details={k: {"from": existing[k], "to": _comparable(k, v)}
                                                  for k, v in changes.items()})
    return "updated"


def committer_key(commitment: dict[str, Any]) -> str:
    if commitment.get("is_from_me"):
        return "me"
    if commitment.get("committer_contact_id") is not None:
        return f"contact:{commitment['committer_contact_id']}"
    return "name:" + normalize_text(commitment["committed_by"])


def fingerprint(*, chat_id: int, committer: str, text: str) -> str:
    return hashlib.sha256(f"{chat_id}\x1f{committer}\x1f{normalize_text(text)}".encode()).hexdigest()


def normalize_text(value: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", value.lower()).split())


def _comparable(column: str, value: Any) -> Any:
    """A value as the database stores it (JSON text for lists, 0/1 for booleans)."""
    if column == "committed_to":
        return value if isinstance(value, str) else json.dumps(value or [], ensure_ascii=False)
    if isinstance(value, bool):
        return int(value)
    return value

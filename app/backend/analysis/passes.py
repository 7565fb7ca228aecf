"""The model passes: `basic` (convo-all-v1: summary, topics, entities, emotions, humour) and `commitments`
(commitment-extraction-v1), and the first of their two stages.

Stage one, `call_llm`, reads the job and the conversation (reads only), renders the pass's prompt and
asks the model through the gateway; what it returns goes to `persist.persist_result`, the second stage,
on the single-writer worker. `*_findings` turn a model's reply into the rows stage two writes.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import Engine

from backend.analysis import repo, windowing
from backend.analysis.context import conversation_context
from backend.analysis.registry import AnalysisPass, Findings, FindingsContext, get, register
from backend.commitments import reconcile
from backend.config import get_settings
from backend.db.clock import now_ms
from backend.db.session import session_scope
from backend.prompts import load_prompt

RECONCILIATION_PROMPT = "commitment-reconciliation-v1"
EMOTIONS = ("joy", "sadness", "anger", "fear", "surprise", "disgust", "trust", "anticipation")


def call_llm(engine: Engine, job_id: int, *, model: str | None = None) -> dict[str, Any] | None:
    """The model's reply for a job with what persisting it needs; None when the job is done or gone.

    Reads only; the gateway logs the call in its own small transactions, never inside one of ours.
    """
    from backend.llm import complete_json  # noqa: PLC0415 - imports LiteLLM (seconds), only where needed

    with session_scope(engine) as conn:
        job = repo.get_job(conn, job_id=job_id)
        if job is None or job["status"] == "done":
            return None
        context = conversation_context(conn, job["conversation_id"])
        analysis_pass = get(job["pass_name"])
        previous = reconcile.previous_commitments(conn, chat_id=context.chat_id,
                                                  conversation_id=context.conversation_id,
                                                  now_ms=now_ms()) if analysis_pass.reconciles else []
    prompt = load_prompt(analysis_pass.prompt_id)
    settings = get_settings()
    parts = windowing.windows(context.payload, windowing.Budget.of_pack(analysis_pass.pack_id)) \
        if analysis_pass.pack_id else [context.payload]
    replies = [complete_json(
        timeout_s=settings.llm_timeout_s,
        model=model or settings.llm_model, messages=prompt.render(conversation=part),
        schema=prompt.result_schema, prompt_id=prompt.id, prompt_version=prompt.version,
        temperature=prompt.temperature, engine=engine,
    ) for part in parts]
    result = replies[0]
    reconciliation = None
    if previous:  # a later conversation may keep, cancel or move what was promised before
        check = load_prompt(RECONCILIATION_PROMPT)
        updates: dict[Any, dict[str, Any]] = {}
        for part in parts:
            answer = complete_json(
                timeout_s=settings.llm_timeout_s, model=model or settings.llm_model,
                messages=check.render(conversation=part, previous_commitments=previous),
                schema=check.result_schema, prompt_id=check.id, prompt_version=check.version,
                temperature=check.temperature, engine=engine,
            )
            for update in answer.data.get("updates") or []:  # the first window that changed it wins
                if update.get("evidence_message_id") is not None:
                    updates.setdefault(update.get("id"), update)
        reconciliation = {"previous": previous, "updates": list(updates.values())}
    return {
        "reconciliation": reconciliation,
        "job_id": job_id, "pass_name": analysis_pass.name, "conversation_id": context.conversation_id,
        "chat_id": context.chat_id, "revision": job["revision"], "prompt_id": prompt.id,
        "prompt_version": prompt.version, "model": result.model, "completion_id": result.completion_id,
        "tokens_in": sum(r.tokens_in for r in replies), "tokens_out": sum(r.tokens_out for r in replies),
        "cost_usd": sum(r.cost_usd or 0.0 for r in replies), "cached": all(r.cached for r in replies),
        "estimated_tokens": context.estimated_tokens, "windows": len(parts),
        "contact_ids": context.contact_ids, "data": windowing.merge(prompt.id, [r.data for r in replies]),
    }


def basic_findings(data: dict[str, Any], ctx: FindingsContext) -> Findings:
    findings = Findings(summary=data.get("summary") or "")
    findings.topics += _topics(data.get("topics") or [], None, None)
    for person in data.get("participants") or []:
        name = str(person.get("name") or "")
        contact_id = ctx.contact_ids.get(name)
        findings.topics += _topics(person.get("topics") or [], name, contact_id)
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        for entity in person.get("entities") or []:
            key = (str(entity.get("type") or "other"), str(entity.get("text") or "").strip().lower())
            if not key[1]:
                continue
            if key in seen:
                seen[key]["mentions"] += 1
                continue
            seen[key] = {"participant": name, "contact_id": contact_id, "kind": key[0],
                         "text": str(entity["text"]).strip(), "value": entity.get("value"),
                         "message_id": ctx.message_id(entity.get("message_id")), "mentions": 1}
        findings.entities += seen.values()
        scores = (person.get("emotions") or {}).get("scores") or {}
        findings.emotions += [{"participant": name, "contact_id": contact_id, "emotion": emotion,
                               "score": float(scores[emotion])}
                              for emotion in EMOTIONS if float(scores.get(emotion) or 0) > 0]
        findings.humor_items += [{"participant": name, "contact_id": contact_id,
                                  "message_id": ctx.message_id(item.get("message_id")),
                                  "text": str(item.get("text") or ""), "reason": list(item.get("evidence") or []),
                                  "laughed_by": list(item.get("laughed_by") or [])}
                                 for item in person.get("humour") or []]
    return findings


def commitment_findings(data: dict[str, Any], ctx: FindingsContext) -> Findings:
    findings = Findings()
    for item in data.get("commitments") or []:
        committed_by = str(item.get("committed_by") or "")
        text = str(item.get("text") or "").strip()
        if not committed_by or not text:
            continue
        findings.commitments.append({
            "message_id": ctx.message_id(item.get("message_id")), "committed_by": committed_by,
            "committer_contact_id": ctx.contact_ids.get(committed_by), "is_from_me": bool(item.get("is_from_me")),
            "committed_to": [str(name) for name in item.get("committed_to") or []], "text": text,
            "due_at": due_at_ms(item.get("due_at")), "due_text": item.get("due_text"),
            "confidence": item.get("confidence"),
        })
    return findings


def due_at_ms(value: Any) -> int | None:
    """An ISO 8601 date or time as epoch milliseconds (a bare date ends at 23:59 local; naive is local)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if len(str(value)) <= 10:  # a date without a time
        moment = datetime.combine(moment.date(), time(23, 59))
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return int(moment.timestamp() * 1000)


def _topics(topics: list[Any], participant: str | None, contact_id: int | None) -> list[dict[str, Any]]:
    names = [str(t).strip() for t in topics if str(t).strip()]
    return [{"participant": participant, "contact_id": contact_id, "topic": topic,
             "weight": round((len(names) - i) / len(names), 4)} for i, topic in enumerate(names)]


def _version(prompt_id: str) -> str:
    return load_prompt(prompt_id).version


BASIC = register(AnalysisPass(
    name="basic", kind="batch", prompt_id="convo-all-v1", prompt_version=_version("convo-all-v1"),
    findings=basic_findings, pack_id="conversation-analysis",
))
COMMITMENTS = register(AnalysisPass(
    name="commitments", kind="batch", prompt_id="commitment-extraction-v1",
    prompt_version=_version("commitment-extraction-v1"), findings=commitment_findings, pack_id="commitments",
    reconciles=True,
))

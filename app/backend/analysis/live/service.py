"""Live passes (`basic_live`, `commitments_live`): they follow new messages of a conversation.

- Debounced: a new message sets `chatstats:live:<conversation_id>` (SET NX) and, when the key was not
  there yet, schedules one run per enabled live pass `DEBOUNCE_S` later (the app setting
  `analysis.live.debounce_s` overrides it); the run deletes the key first, so messages that arrive
  meanwhile schedule the next run.
- Incremental: a run sends the model only the messages after the last one analysed, with the previous
  result (`live_pass_state`), never the whole conversation again.
- Two stages like the batch passes: `call_live_pass` (reads, renders, asks the model; no writes of ours)
  then `persist_live_result` on the single writer, which merges the reply into the stored result, writes it
  through `persist.replace_results` (conversation_analyses and findings, commitments by fingerprint) and
  moves the state forward, all in one transaction. A stale or repeated payload writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine

from backend.analysis import passes, persist, registry
from backend.analysis.context import conversation_context
from backend.analysis.live import repo
from backend.analysis.registry import AnalysisPass
from backend.config import get_settings
from backend.db.clock import now_ms
from backend.db.session import run_write, session_scope
from backend.prompts import load_prompt
from backend.settings import repo as settings_repo

DEBOUNCE_S = 10.0
DEBOUNCE_SETTING = "analysis.live.debounce_s"  # app setting (seconds); missing: DEBOUNCE_S
KEY_TTL_S = 120  # a key whose run never came (a lost message) stops blocking after this long
KEY_PREFIX = "chatstats:live:"

BASIC_LIVE = registry.register(AnalysisPass(
    name="basic_live", kind="live", prompt_id=passes.BASIC.prompt_id, prompt_version=passes.BASIC.prompt_version,
    findings=passes.basic_findings,
))
COMMITMENTS_LIVE = registry.register(AnalysisPass(
    name="commitments_live", kind="live", prompt_id=passes.COMMITMENTS.prompt_id,
    prompt_version=passes.COMMITMENTS.prompt_version, findings=passes.commitment_findings,
))
LIVE_PASSES = (BASIC_LIVE, COMMITMENTS_LIVE)


def enabled_live_passes(conn: Connection) -> list[AnalysisPass]:
    """Live passes not switched off by `analysis.passes.<name>.enabled` (a missing setting means on)."""
    return [p for p in LIVE_PASSES if settings_repo.get(conn, key=p.setting_key) is not False]


def debounce_s(conn: Connection) -> float:
    """Seconds between a conversation's first new message and its live run (`analysis.live.debounce_s`)."""
    value = settings_repo.get(conn, key=DEBOUNCE_SETTING)
    return DEBOUNCE_S if value is None else max(0.0, float(value))


def debounce_key(conversation_id: int) -> str:
    return f"{KEY_PREFIX}{conversation_id}"


Send = Callable[[int, str, float], None]  # (conversation_id, pass name, countdown seconds)


def schedule_live_passes(engine: Engine, redis: Any, send: Send, *, message_id: int,
                         conversation_id: int | None = None, countdown_s: float | None = None) -> list[str]:
    """On a new message: the live passes scheduled now (none while a run of this conversation is pending),
    `countdown_s` from now (default: the debounce setting)."""
    with session_scope(engine) as conn:
        if conversation_id is None:
            conversation_id = repo.message_conversation_id(conn, message_id=message_id)
        enabled = enabled_live_passes(conn) if conversation_id is not None else []
        if countdown_s is None:
            countdown_s = debounce_s(conn)
    if conversation_id is None or not enabled or not redis.set(debounce_key(conversation_id), message_id, nx=True,
                                                               ex=KEY_TTL_S):
        return []
    for analysis_pass in enabled:
        send(conversation_id, analysis_pass.name, countdown_s)
    return [p.name for p in enabled]


def call_live_pass(engine: Engine, conversation_id: int, pass_name: str, *, model: str | None = None,
                   api_base: str | None = None) -> dict[str, Any] | None:
    """Stage one: the model's reply over the messages after the last analysed one; None when none are new."""
    from backend.llm import complete_json  # noqa: PLC0415 - imports LiteLLM (seconds), only where needed

    analysis_pass = registry.get(pass_name) if pass_name in {p.name for p in LIVE_PASSES} else None
    if analysis_pass is None:
        raise ValueError(f"{pass_name!r} is not a live pass (one of {[p.name for p in LIVE_PASSES]})")
    with session_scope(engine) as conn:
        state = repo.get_state(conn, conversation_id=conversation_id, pass_name=pass_name)
        context = conversation_context(conn, conversation_id)
        sent_at = repo.message_sent_at(conn, conversation_id=conversation_id)
    new = new_messages(context.payload["messages"], sent_at, state)
    if not new:
        return None
    conversation = {"participants": context.payload["participants"], "messages": new}
    if state is not None:
        conversation["previous_result"] = state["result"]
        conversation["note"] = ("These messages continue a conversation already analysed: previous_result is "
                                "the result so far. Reply with the result updated by the new messages.")
    prompt = load_prompt(analysis_pass.prompt_id)
    result = complete_json(
        timeout_s=get_settings().llm_timeout_s,
        model=model or get_settings().llm_model, messages=prompt.render(conversation=conversation),
        schema=prompt.result_schema, prompt_id=prompt.id, prompt_version=prompt.version,
        temperature=prompt.temperature, purpose="live_analysis", api_base=api_base, engine=engine,
    )
    return {
        "pass_name": pass_name, "conversation_id": conversation_id, "chat_id": context.chat_id,
        "revision": context.revision, "prompt_id": prompt.id, "prompt_version": prompt.version,
        "model": result.model, "completion_id": result.completion_id, "tokens_in": result.tokens_in,
        "tokens_out": result.tokens_out, "cost_usd": result.cost_usd, "contact_ids": context.contact_ids,
        "based_on_message_id": state["last_message_id"] if state else None,
        "last_message_id": new[-1]["id"], "last_sent_at": sent_at[new[-1]["id"]], "messages_sent": len(new),
        "data": result.data,
    }


def new_messages(messages: list[dict[str, Any]], sent_at: dict[int, int],
                 state: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The prompt's messages after the last analysed one, in order (by sent_at, then id, as the mirror has them)."""
    if state is None:
        return list(messages)
    last = (state["last_sent_at"], state["last_message_id"])
    return [m for m in messages if (sent_at[m["id"]], m["id"]) > last]


def persist_live_result(engine: Engine, payload: dict[str, Any]) -> bool:
    """Stage two (the single writer): merge, write the results and move the state on; False when stale."""

    def write(conn: Connection) -> bool:
        state = repo.get_state(conn, conversation_id=payload["conversation_id"], pass_name=payload["pass_name"])
        if state is not None and (state["last_sent_at"], state["last_message_id"]) >= (
                payload["last_sent_at"], payload["last_message_id"]):
            return False  # a redelivered or overtaken result: its messages are in the stored one already
        merged = merge_results(payload["pass_name"], state["result"] if state else None, payload["data"])
        at = now_ms()
        persist.replace_results(conn, payload={**payload, "data": merged, "job_id": None}, now_ms=at)
        repo.upsert_state(conn, state={
            "conversation_id": payload["conversation_id"], "pass_name": payload["pass_name"],
            "last_message_id": payload["last_message_id"], "last_sent_at": payload["last_sent_at"],
            "result": merged, "model": payload["model"], "messages": payload["messages_sent"]}, now_ms=at)
        return True

    return run_write(write, engine=engine)


# ---- merging a reply over new messages into the result so far ------------------------------------------------

def merge_results(pass_name: str, previous: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    if not previous:
        return new
    if pass_name == COMMITMENTS_LIVE.name:
        return {**previous, **new, "commitments": _union(previous.get("commitments"), new.get("commitments"),
                                                         _commitment_key)}
    people = {p.get("name"): p for p in previous.get("participants") or []}
    for person in new.get("participants") or []:
        before = people.get(person.get("name"))
        people[person.get("name")] = person if before is None else {
            **before, **person,
            "topics": _union(before.get("topics"), person.get("topics"), _text_key),
            "entities": _union(before.get("entities"), person.get("entities"),
                               lambda e: (e.get("type"), _text_key(e.get("text")))),
            "humour": _union(before.get("humour"), person.get("humour"),
                             lambda h: (h.get("message_id"), _text_key(h.get("text")))),
        }
    return {**previous, **new, "summary": new.get("summary") or previous.get("summary"),
            "topics": _union(new.get("topics"), previous.get("topics"), _text_key),
            "participants": list(people.values())}


def _union(first: list[Any] | None, second: list[Any] | None, key: Callable[[Any], Any]) -> list[Any]:
    """Items of `first`, then those of `second` with a key not seen yet (later duplicates replace earlier)."""
    out: dict[Any, Any] = {}
    for item in [*(first or []), *(second or [])]:
        out[key(item)] = item
    return list(out.values())


def _text_key(value: Any) -> str:
    return persist.normalize_text(str(value or ""))


def _commitment_key(item: dict[str, Any]) -> tuple[str, str]:
    return _text_key(item.get("committed_by")), _text_key(item.get("text"))

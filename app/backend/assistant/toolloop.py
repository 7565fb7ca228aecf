"""Eve with a model: LiteLLM function calling over the tools, bounded in steps and tokens.

Each step is one streamed model turn (`llm.stream_turn`). A turn that asks for tools gets their results
(JSON, cut to a size) back as `tool` messages and the loop goes on; a turn without tool calls is the
answer. Events, in order: `text_delta` (raw text of the turn, the caller decodes it), `tool_call`,
`tool_result`, then the loop returns the answer's raw text and every citation the tools produced (by
message id). A model still calling tools after `max_steps` turns ends in StepLimitReached.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from backend.assistant.exceptions import StepLimitReached
from backend.errors import BackendError
from backend.tools.registry import call_tool, openai_tools

MAX_RESULT_CHARS = 12_000  # one tool result as the model reads it
_MESSAGE_REF = re.compile(r"\[M(\d+)\]")

LoopEvent = tuple[str, dict[str, Any]]


@dataclass
class LoopOutcome:
    raw: str = ""  # the answer's raw text (JSON of eve-answer-v1 or prose)
    steps: int = 0
    tool_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cited: dict[int, dict[str, Any]] = field(default_factory=dict)  # message id -> citation from a tool result


def run(engine: Engine, *, model: str, messages: list[dict[str, Any]], max_steps: int, max_tokens: int,
        prompt_id: str, prompt_version: str, temperature: float | None, outcome: LoopOutcome) -> Iterator[LoopEvent]:
    """Drive the model until it answers; fills `outcome` (raw answer, tool citations, counts)."""
    from backend.llm import Turn, stream_turn  # noqa: PLC0415 - imports LiteLLM

    tools = openai_tools()
    conversation = list(messages)
    for step in range(1, max_steps + 1):
        outcome.steps = step
        turn: Turn | None = None
        for item in stream_turn(model=model, messages=conversation, tools=tools, prompt_id=prompt_id,
                                prompt_version=prompt_version, temperature=temperature, max_tokens=max_tokens,
                                engine=engine):
            if isinstance(item, str):
                yield "text_delta", {"delta": item, "step": step}
            else:
                turn = item
        assert turn is not None
        outcome.tokens_in += turn.tokens_in
        outcome.tokens_out += turn.tokens_out
        if not turn.tool_calls:
            outcome.raw = turn.text
            return
        conversation.append(turn.as_message())
        for call in turn.tool_calls:
            outcome.tool_calls += 1
            yield "tool_call", {"id": call.id, "name": call.name, "arguments": _arguments(call.arguments),
                                "step": step}
            content, event = _run_tool(engine, call.name, call.arguments)
            for cite in content.get("citations") or []:
                if isinstance(cite, dict) and cite.get("message_id") is not None:
                    outcome.cited.setdefault(int(cite["message_id"]), cite)
            yield "tool_result", {"id": call.id, "name": call.name, "step": step, **event}
            conversation.append({"role": "tool", "tool_call_id": call.id, "name": call.name,
                                 "content": _truncate(json.dumps(content, ensure_ascii=False))})
    raise StepLimitReached(f"Eve stopped after {max_steps} rounds of tool calls without an answer; ask a narrower "
                           "question or raise CHATSTATS_EVE_MAX_STEPS.", max_steps=max_steps)


def _arguments(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        return text


def _run_tool(engine: Engine, name: str, arguments: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(what the model reads, what the event says): a tool's failure is a result the model can act on."""
    try:
        result = call_tool(engine, name, arguments)
    except BackendError as exc:
        error = {"code": exc.code, "message": exc.message}
        return {"error": error}, {"ok": False, "error": error}
    cited = [c["message_id"] for c in result.get("citations") or [] if c.get("message_id") is not None]
    return result, {"ok": True, "citations": cited[:20]}


def _truncate(text: str) -> str:
    if len(text) <= MAX_RESULT_CHARS:
        return text
    return text[:MAX_RESULT_CHARS] + ' … (cut: ask for fewer results with "limit")'


def message_citations(answer: str, claimed: list[dict[str, str]], outcome: LoopOutcome) -> list[dict[str, Any]]:
    """Citations `[M<id>]` of the answer (and `M<id>` source ids of a JSON reply) that a tool result backs;
    message ids no tool returned are dropped."""
    ids = [int(m) for m in _MESSAGE_REF.findall(answer)]
    ids += [int(c["source_id"][1:]) for c in claimed if re.fullmatch(r"M\d+", c.get("source_id", ""))]
    out: list[dict[str, Any]] = []
    for message_id in dict.fromkeys(ids):
        cite = outcome.cited.get(message_id)
        if cite is None:
            continue
        out.append({"source_id": f"M{message_id}", "quote": (cite.get("text") or "")[:300], "kind": "message",
                    "message_id": message_id, "conversation_id": cite.get("conversation_id"),
                    "sender": cite.get("sender"), "sent_at": _iso(cite.get("sent_at"))})
    return out


def _iso(ms: Any) -> str | None:
    if not isinstance(ms, int):
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")

"""Turning a streamed eve-answer-v1 reply into what the user reads, and into stored citations.

A model answers with a JSON object (`{"answer": ..., "citations": [...], "answered": ...}`); the user
should see only the answer, as it arrives. `AnswerText.feed` returns the newly visible text of each
delta: the decoded `answer` string of a JSON reply, or the text itself when the model answered in prose.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from backend.retrieval import FilledContext

_ANSWER_KEY = re.compile(r'"answer"\s*:\s*"')
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
_CITED = re.compile(r"\[(S\d+)\]")
_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$")


class AnswerText:
    def __init__(self) -> None:
        self.raw = ""
        self.mode: str | None = None  # "json" | "text"
        self._pos: int | None = None
        self._closed = False

    def feed(self, delta: str) -> str:
        self.raw += delta
        if self.mode is None:
            stripped = self.raw.lstrip()
            if not stripped:
                return ""
            self.mode = "json" if stripped[0] in "{`" else "text"
            if self.mode == "text":
                return self.raw
        if self.mode == "text":
            return delta
        return self._decode()

    def _decode(self) -> str:
        if self._closed:
            return ""
        if self._pos is None:
            match = _ANSWER_KEY.search(self.raw)
            if match is None:
                return ""
            self._pos = match.end()
        raw, i, out = self.raw, self._pos, []
        while i < len(raw):
            ch = raw[i]
            if ch == '"':
                self._closed = True
                i += 1
                break
            if ch != "\\":
                out.append(ch)
                i += 1
                continue
            if i + 1 >= len(raw):
                break  # an escape cut by the delta boundary: wait for the rest
            if raw[i + 1] != "u":
                out.append(_ESCAPES.get(raw[i + 1], raw[i + 1]))
                i += 2
                continue
            if i + 6 > len(raw):
                break
            code = int(raw[i + 2:i + 6], 16)
            if 0xD800 <= code < 0xDC00:  # a surrogate pair: needs the second half
                if i + 12 > len(raw):
                    break
                low = int(raw[i + 8:i + 12], 16)
                out.append(chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)))
                i += 12
                continue
            out.append(chr(code))
            i += 6
        self._pos = i
        return "".join(out)


def parse_reply(raw: str) -> tuple[str, list[dict[str, str]]]:
    """(answer text, [{source_id, quote}]) of a finished reply, JSON or prose."""
    try:
        data = json.loads(_FENCE.sub("", raw))
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("answer"), str):
        citations = [c for c in data.get("citations") or [] if isinstance(c, dict) and c.get("source_id")]
        return data["answer"], [{"source_id": str(c["source_id"]), "quote": str(c.get("quote") or "")}
                                for c in citations]
    text = raw.strip()
    return text, [{"source_id": sid, "quote": ""} for sid in dict.fromkeys(_CITED.findall(text))]


def resolve_citations(citations: list[dict[str, str]], filled: FilledContext) -> list[dict[str, Any]]:
    """Each citation with what its source rests on (message and conversation ids); unknown ids are dropped."""
    resolved = []
    for citation in citations:
        source = filled.source(citation["source_id"])
        if source is None:
            continue
        item = source.item
        resolved.append({**citation, "kind": item.kind, "message_id": item.message_id,
                         "conversation_id": item.conversation_id, "sender": item.sender, "sent_at": item.sent_at})
    return resolved

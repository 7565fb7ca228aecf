"""Long conversations within a pass's token budget: the conversation is cut into windows of consecutive
messages, each within the budget of its context pack's message slice (`token_estimate` tokens and
`max_messages` messages), the model is asked once per window, and the replies are merged into one
result of the prompt's shape.

The budget comes from the pass's context pack (app/eve/context-packs/): `conversation-analysis` for the
basic pass (10,000 tokens, 800 messages), `commitments` for the commitments pass (5,000, 300). A
conversation that fits is sent whole, as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from backend.analysis.context import CHARS_PER_TOKEN
from backend.prompts.pack import load_pack

MESSAGE_RETRIEVER = "raw_conversation"


@dataclass(frozen=True)
class Budget:
    tokens: int  # for the messages of one window
    messages: int

    @classmethod
    def of_pack(cls, pack_id: str) -> Budget:
        pack = load_pack(pack_id)
        messages = next(s for s in pack.slices if s.retriever == MESSAGE_RETRIEVER and s.required)
        return cls(tokens=messages.token_estimate, messages=int(messages.params.get("max_messages") or 10**9))


def message_tokens(message: dict[str, Any]) -> int:
    """Its share of the payload's tokens, the separator in the message list (", ") included."""
    return (len(json.dumps(message, ensure_ascii=False)) + 2) // CHARS_PER_TOKEN + 1


def windows(payload: dict[str, Any], budget: Budget) -> list[dict[str, Any]]:
    """The payload itself when its messages fit, else payloads of consecutive messages that each fit (a
    single message over the budget is cut to it). Participants and other keys go with every window."""
    messages = payload.get("messages") or []
    if sum(map(message_tokens, messages)) <= budget.tokens and len(messages) <= budget.messages:
        return [payload]
    found: list[list[dict[str, Any]]] = [[]]
    used = 0
    for message in messages:
        cost = message_tokens(message)
        if cost > budget.tokens:  # one huge message: its text is cut to what the budget holds
            keep = max(0, len(message.get("text") or "") - (cost - budget.tokens) * CHARS_PER_TOKEN - 8)
            message = {**message, "text": (message.get("text") or "")[:keep]}
            cost = message_tokens(message)
        if found[-1] and (used + cost > budget.tokens or len(found[-1]) >= budget.messages):
            found.append([])
            used = 0
        found[-1].append(message)
        used += cost
    return [{**payload, "messages": part} for part in found]


def merge(prompt_id: str, replies: list[dict[str, Any]]) -> dict[str, Any]:
    """One result of the prompt's shape from the replies of its windows (in time order)."""
    if len(replies) == 1:
        return replies[0]
    if prompt_id.startswith("commitment-extraction"):
        return {**replies[0], "commitments": [c for r in replies for c in r.get("commitments") or []]}
    if prompt_id.startswith("convo-all"):
        return _merge_convo_all(replies)
    raise ValueError(f"no merge for the windows of prompt {prompt_id}")


def _merge_convo_all(replies: list[dict[str, Any]]) -> dict[str, Any]:
    people: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    for reply in replies:
        for person in reply.get("participants") or []:
            name = person.get("name")
            if name not in people:
                people[name] = {**person, "entities": [], "topics": [], "humour": [],
                                "emotions": {**(person.get("emotions") or {}), "scores": {}}}
                counts[name] = 0
            merged = people[name]
            merged["entities"] += [e for e in person.get("entities") or [] if e not in merged["entities"]]
            merged["topics"] = _unique(merged["topics"] + list(person.get("topics") or []))
            merged["humour"] += list(person.get("humour") or [])
            scores = (person.get("emotions") or {}).get("scores") or {}
            if any(scores.values()):
                counts[name] += 1
                for emotion, score in scores.items():
                    merged["emotions"]["scores"][emotion] = merged["emotions"]["scores"].get(emotion, 0) + score
    for name, person in people.items():  # emotions: the mean over the windows that had any
        emotions = person["emotions"]
        n = counts[name] or 1
        emotions["scores"] = {e: round(s / n, 3) for e, s in emotions["scores"].items()}
        ranked = sorted(emotions["scores"].items(), key=lambda kv: -kv[1])
        leads = ranked and ranked[0][1] > 0 and (len(ranked) == 1 or ranked[0][1] > ranked[1][1])
        emotions["dominant"] = ranked[0][0] if leads else None
    summaries = [r.get("summary") or "" for r in replies]
    return {
        **replies[0],
        "summary": " ".join(s for s in summaries if s),
        "highlights": [h for r in replies for h in r.get("highlights") or []],
        "topics": _unique([t for r in replies for t in r.get("topics") or []]),
        "participants": list(people.values()),
    }


def _unique(items: list[Any]) -> list[Any]:
    return list(dict.fromkeys(items))

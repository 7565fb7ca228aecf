"""The offline analyzer: real results for ChatStats prompts, computed from the data without a model.

It reads the rendered messages of a prompt from app/eve/prompts/ (the prompt id from the system
message's "[prompt: <id>]", the data from the user message's ```json block) and returns the JSON object
that prompt's schema describes, with `"model": "chatstats/offline"` so that every result says it was
computed, not written by a language model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend.llm.offline import answer, commitments, emotions, entities, humour, summary, topics
from backend.llm.offline.conversation import (
    Conversation,
    OfflineRequestInvalid,
    json_block,
    parse_conversation,
    prompt_id_of,
)

MODEL = "chatstats/offline"


def analyze(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The result object for the prompt these chat messages were rendered from."""
    prompt_id = prompt_id_of(messages)
    handler = HANDLERS.get(prompt_id)
    if handler is None:
        raise OfflineRequestInvalid(
            f"The offline analyzer has no method for prompt {prompt_id!r} (it knows {sorted(HANDLERS)}); "
            "configure a model for it.",
            prompt=prompt_id,
        )
    return {"model": MODEL, **handler(json_block(messages))}


def convo_all(block: dict[str, Any]) -> dict[str, Any]:
    conversation = parse_conversation(block)
    chosen = summary.summarize(conversation)
    people = set(conversation.names) | {part for name in conversation.names for part in name.split()}
    funny_by_sender: dict[str, list[dict[str, Any]]] = {}
    for funny in humour.find_humour(conversation):
        funny_by_sender.setdefault(funny.message.sender, []).append(funny.as_dict())
    return {
        "summary": summary.summary_text(chosen),
        "highlights": [{"message_id": s.message.id, "text": s.message.text} for s in chosen][:5],
        "topics": topics.topics([m.text for m in conversation.messages], exclude=people),
        "participants": [
            {
                "name": participant.name,
                "is_me": participant.is_me,
                "entities": _entities_of(conversation, participant.name),
                "topics": topics.topics(_texts_of(conversation, participant.name), exclude=people),
                "emotions": emotions.emotion_profile(_texts_of(conversation, participant.name)),
                "humour": funny_by_sender.get(participant.name, []),
            }
            for participant in conversation.participants
        ],
    }


def commitment_extraction(block: dict[str, Any]) -> dict[str, Any]:
    conversation = parse_conversation(block)
    return {"commitments": [c.as_dict() for c in commitments.extract(conversation)]}


def commitment_reconciliation(block: dict[str, Any]) -> dict[str, Any]:
    conversation = parse_conversation(block.get("conversation") or {})
    previous = [p for p in block.get("previous_commitments") or [] if isinstance(p, dict)]
    return commitments.reconcile(conversation, previous)


def eve_answer(block: dict[str, Any]) -> dict[str, Any]:
    return answer.answer(block)


HANDLERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "convo-all-v1": convo_all,
    "commitment-extraction-v1": commitment_extraction,
    "commitment-reconciliation-v1": commitment_reconciliation,
    "eve-answer-v1": eve_answer,
}


def _texts_of(conversation: Conversation, sender: str) -> list[str]:
    return [m.text for m in conversation.messages if m.sender == sender]


def _entities_of(conversation: Conversation, sender: str) -> list[dict[str, Any]]:
    """Each entity once per participant (by type and lowercased text), at its first mention."""
    seen: set[tuple[str, str]] = set()
    found = []
    for message in conversation.messages:
        if message.sender != sender:
            continue
        for entity in entities.message_entities(message, names=conversation.names, own_name=sender):
            key = (entity.type, entity.text.lower())
            if key not in seen:
                seen.add(key)
                found.append(entity.as_dict())
    return found

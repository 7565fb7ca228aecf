"""Humour as the conversation itself marks it: messages that got a "laugh" tapback (or a laughing emoji
reaction) from someone else, and messages that someone else answered by laughing ("haha", "lol",
"lmao", "😂") within a few messages and minutes. The laughing reply counts for the nearest earlier
message of another sender that is not itself laughter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from backend.llm.offline.conversation import Conversation, Message
from backend.llm.offline.textutil import is_laughter_word, words

LAUGH_EMOJI = frozenset("😂🤣😹😆😅💀")
REPLY_WINDOW = timedelta(minutes=15)
REPLY_DISTANCE = 4  # a laughing reply looks back at most this many messages
MAX_LAUGH_REPLY_WORDS = 12
_LAUGH_PHRASE = re.compile(
    r"\b(?:dying|dead|i'm crying|so funny|hilarious|that's funny|you're funny|too funny)\b", re.IGNORECASE,
)


@dataclass
class Funny:
    message: Message
    evidence: list[str] = field(default_factory=list)
    laughed_by: list[str] = field(default_factory=list)

    def add(self, evidence: str, who: str) -> None:
        if evidence not in self.evidence:
            self.evidence.append(evidence)
        if who and who not in self.laughed_by:
            self.laughed_by.append(who)

    def as_dict(self) -> dict[str, object]:
        return {"message_id": self.message.id, "text": self.message.text, "evidence": list(self.evidence),
                "laughed_by": list(self.laughed_by)}


def is_laugh_reaction(reaction_type: str, emoji: str | None) -> bool:
    if reaction_type == "emoji":
        return bool(emoji) and emoji in LAUGH_EMOJI
    return reaction_type in ("laugh", "haha", "ha")


def is_laughing(text: str) -> bool:
    """A short message that laughs: it opens with laughter ("haha yes"), is little more than laughter,
    has a laughing emoji, or says "so funny". ("I fell in the pool haha" laughs at itself, not back.)"""
    tokens = words(text)
    if len(tokens) > MAX_LAUGH_REPLY_WORDS:
        return False
    laughs = [is_laughter_word(t) for t in tokens]
    return (
        (bool(laughs) and (laughs[0] or (any(laughs) and len(tokens) <= 3)))
        or any(ch in LAUGH_EMOJI for ch in text)
        or bool(_LAUGH_PHRASE.search(text))
    )


def find_humour(conversation: Conversation) -> list[Funny]:
    """The funny messages in time order."""
    funny: dict[int, Funny] = {}
    messages = conversation.messages
    for index, message in enumerate(messages):
        for reaction in message.reactions:
            if is_laugh_reaction(reaction.type, reaction.emoji) and reaction.sender != message.sender:
                funny.setdefault(index, Funny(message)).add("laugh_reaction", reaction.sender)
        if not is_laughing(message.text):
            continue
        for back in range(index - 1, max(-1, index - 1 - REPLY_DISTANCE), -1):
            earlier = messages[back]
            if message.sent_at - earlier.sent_at > REPLY_WINDOW:
                break
            if earlier.sender != message.sender and not _only_laughter(earlier.text):
                funny.setdefault(back, Funny(earlier)).add("laughing_reply", message.sender)
                break
    return _distinct([funny[i] for i in sorted(funny)])


def _distinct(items: list[Funny]) -> list[Funny]:
    """One item per sender and text: the same joke sent twice (or pasted again) is reported once, with
    everyone who laughed at either copy."""
    kept: dict[tuple[str, str], Funny] = {}
    for item in items:
        key = (item.message.sender, " ".join(words(item.message.text)))
        if key in kept and key[1]:
            for evidence in item.evidence:
                kept[key].add(evidence, "")
            for who in item.laughed_by:
                kept[key].add(kept[key].evidence[0], who)
        else:
            kept[key if key[1] else (item.message.sender, str(item.message.id))] = item
    return list(kept.values())


def _only_laughter(text: str) -> bool:
    tokens = words(text)
    return is_laughing(text) and all(is_laughter_word(t) or t in ("so", "omg", "that's", "funny") for t in tokens)

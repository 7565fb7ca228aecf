"""Commitments from phrasing, with due dates from `dates`, and their reconciliation as messages arrive.

A sentence commits its sender when it says "I'll / I will / I'm going to / I promise to / let me ..."
(a firm promise), or "I can / we can / let's / I could ..." together with a date or time (an offer or
plan is a commitment once it has a when), or when it accepts a request made just before ("can you
bring the charger?" -> "will do"). Questions, conditionals ("if I ..."), refusals ("I can't") and
feelings ("I'll miss you", "I'll never forget") do not count.

Reconciliation marks a known commitment `done` when its committer later reports it ("sent!", "here are
the photos") or the other side thanks them for it, `cancelled` when the committer withdraws ("can't
make it") or is let off ("no need"), and moves its due date when the committer reschedules with a date
("let's do Saturday instead").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

from backend.llm.offline.conversation import Conversation, Message
from backend.llm.offline.dates import first_due
from backend.llm.offline.textutil import content_words, sentences, stem, words

_FIRM = re.compile(
    r"\b(?:i'll|i will|i'm going to|i am going to|i'm gonna|i am gonna|i promise(?: to)?|i shall|"
    r"let me|we'll|we will|we're going to|i'll make sure to|i'll definitely)\s+",
    re.IGNORECASE,
)
_OFFER = re.compile(
    r"\b(?:i can|i could|we can|we could|let's|lets|let us|i should be able to|i'd be happy to)\s+",
    re.IGNORECASE,
)
_NOT_A_PROMISE = re.compile(
    r"^(?:be\s+honest|never\b|not\b|admit|bet\b|say\b|see\s+(?:you|ya)\b|miss\b|love\b|tell\s+you\s+what|"
    r"have\s+to\s+see|probably\s+(?:die|cry)|die\b|cry\b|be\s+(?:so|really|very)\b|think\b|guess\b|know\b)",
    re.IGNORECASE,
)
_CONDITIONAL = re.compile(r"\b(?:if|unless|maybe if|when i have time)\b", re.IGNORECASE)
_REQUEST = re.compile(
    r"\b(?:can|could|would|will) you(?: please)?\s+(?P<ask>[^?.!]+)|\bplease\s+(?P<ask2>[^?.!]+)|"
    r"\b(?:don't forget|remember) to\s+(?P<ask3>[^?.!]+)",
    re.IGNORECASE,
)
_ACCEPT = re.compile(
    r"^\s*(?:ok(?:ay)?|sure|yes|yep|yeah|of course|absolutely|no problem|np|deal)?[\s,!.]*"
    r"(?:will do|on it|sure thing|you got it|consider it done|no problem|of course|sure|ok(?:ay)?|yes|yep|deal)\b",
    re.IGNORECASE,
)
_DONE = re.compile(
    r"\b(?:done|sent|just sent|i sent|i've sent|here (?:it is|they are|you go|are|is)|finished|booked|"
    r"did it|all set|took care of|taken care of|handled|picked (?:it )?up|dropped (?:it )?off|paid|bought|called|"
    r"emailed|delivered|fixed|ordered)\b",
    re.IGNORECASE,
)
_NOT_A_TASK = re.compile(r"^(?:believe|imagine|guess|see|hear|tell if|stop)\b", re.IGNORECASE)
_THANKS = re.compile(r"\b(?:thanks|thank you|thx|ty|got (?:it|them)|received)\b", re.IGNORECASE)
_WITHDRAW = re.compile(
    r"\b(?:can't make it|cannot make it|won't make it|won't be able|not going to be able|can't do it|"
    r"have to cancel|need to cancel|cancel(?:led|ling)?|rain check|something came up|not anymore)\b",
    re.IGNORECASE,
)
_RELEASE = re.compile(r"\b(?:no need|don't worry about|never ?mind|forget (?:about )?it|don't bother)\b", re.IGNORECASE)
_RESCHEDULE = re.compile(
    r"\b(?:instead|move it|push it|reschedule|postpone|how about|what about|rather)\b", re.IGNORECASE,
)
_IRREGULAR = {"sent": "send", "bought": "buy", "brought": "bring", "paid": "pay", "made": "make", "took": "take",
              "gave": "give", "told": "tell", "wrote": "write", "found": "find", "got": "get", "picked": "pick"}
ACCEPT_WINDOW = timedelta(hours=2)
REPLY_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class Commitment:
    message: Message
    committed_by: str
    is_from_me: bool
    committed_to: list[str]
    text: str
    due_at: str | None
    due_text: str | None
    confidence: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message.id, "committed_by": self.committed_by, "is_from_me": self.is_from_me,
            "committed_to": list(self.committed_to), "text": self.text, "due_at": self.due_at,
            "due_text": self.due_text, "confidence": self.confidence,
        }


def extract(conversation: Conversation) -> list[Commitment]:
    found: list[Commitment] = []
    messages = conversation.messages
    for index, message in enumerate(messages):
        previous = messages[index - 1] if index else None
        for sentence in sentences(message.text):
            commitment = _from_sentence(conversation, message, sentence, previous)
            if commitment is None and previous is not None:
                commitment = _from_acceptance(conversation, message, sentence, previous)
            if commitment is not None:
                found.append(commitment)
                break  # one commitment per message: the first one it makes
    return _distinct(found)


def _distinct(found: list[Commitment]) -> list[Commitment]:
    """A promise repeated ("I'll send the photos tomorrow" ... "I'll send the photos tomorrow!") once, at
    its first message."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for commitment in found:
        key = (commitment.committed_by, " ".join(words(commitment.text)))
        if key not in seen:
            seen.add(key)
            kept.append(commitment)
    return kept


def reconcile(conversation: Conversation, previous: list[dict[str, Any]]) -> dict[str, Any]:
    """`updates` (one per previous commitment, same order) and `new_commitments` from the new messages."""
    updates = [
        {"id": item.get("id"), "status": _status(item), "due_at": item.get("due_at"),
         "evidence_message_id": None}
        for item in previous
    ]
    new: list[dict[str, Any]] = []
    for commitment in extract(conversation):
        match = _same_as(commitment, previous)
        if match is None:
            new.append(commitment.as_dict())
        elif commitment.due_at and commitment.due_at != updates[match]["due_at"]:
            updates[match].update(due_at=commitment.due_at, evidence_message_id=commitment.message.id)
    for message in conversation.messages:
        for index, item in enumerate(previous):
            if updates[index]["status"] != "open":
                continue
            change = _change(message, item, previous)
            if change is not None:
                updates[index].update(change, evidence_message_id=message.id)
    return {"updates": updates, "new_commitments": new}


# --- extraction ------------------------------------------------------------------------------------

def _from_sentence(
    conversation: Conversation, message: Message, sentence: str, previous: Message | None,
) -> Commitment | None:
    if sentence.rstrip().endswith("?"):
        return None
    firm, offer = _FIRM.search(sentence), _OFFER.search(sentence)
    triggers = [m for m in (firm, offer) if m is not None]
    if not triggers:
        return None
    trigger = min(triggers, key=lambda m: m.start())
    rest = sentence[trigger.end():].strip()
    if not rest or _NOT_A_PROMISE.match(rest) or _CONDITIONAL.search(sentence[:trigger.start()]):
        return None
    due = first_due(sentence, message.sent_at)
    is_firm = trigger is firm
    if not is_firm and due is None:
        return None  # "I can help" is an ability; "I can help on Friday" is an offer with a when
    tentative = rest.lower().startswith("try ")
    if tentative:
        rest = rest[4:].removeprefix("to ").strip()
    confidence = 0.5 if tentative else (0.9 if due else 0.75) if is_firm else 0.6
    return Commitment(
        message=message, committed_by=message.sender, is_from_me=message.is_from_me,
        committed_to=_addressees(conversation, message, sentence, previous), text=_clip(rest),
        due_at=due.due_at.isoformat() if due else None, due_text=due.text if due else None,
        confidence=confidence,
    )


def _from_acceptance(
    conversation: Conversation, message: Message, sentence: str, previous: Message,
) -> Commitment | None:
    if previous.sender == message.sender or message.sent_at - previous.sent_at > ACCEPT_WINDOW:
        return None
    if not _ACCEPT.match(sentence) or len(sentence.split()) > 8:
        return None
    request = _REQUEST.search(previous.text)
    if request is None:
        return None
    ask = next(g for g in request.groups() if g).strip()
    if _NOT_A_TASK.match(ask):
        return None  # "can you believe it?" -> "yes" promises nothing
    ask = re.sub(r"\bme\b", previous.sender.split()[0], ask)  # "send me the address" -> "send Sam the address"
    due = first_due(previous.text, previous.sent_at) or first_due(sentence, message.sent_at)
    return Commitment(
        message=message, committed_by=message.sender, is_from_me=message.is_from_me,
        committed_to=[previous.sender], text=_clip(ask),
        due_at=due.due_at.isoformat() if due else None, due_text=due.text if due else None, confidence=0.7,
    )


def _addressees(conversation: Conversation, message: Message, sentence: str, previous: Message | None) -> list[str]:
    others = [p.name for p in conversation.participants if p.name != message.sender]
    if len(others) <= 1:
        return others
    named = [name for name in others if re.search(rf"\b{re.escape(name.split()[0])}\b", sentence)]
    if named:
        return named
    replying_to = previous and previous.sender != message.sender and message.sent_at - previous.sent_at <= REPLY_WINDOW
    if previous is not None and replying_to and re.search(r"\byou\b", sentence, re.IGNORECASE):
        return [previous.sender]
    return others


def _clip(text: str) -> str:
    text = text.strip().rstrip(".!,;:… ")
    return text[:297] + "..." if len(text) > 300 else text


# --- reconciliation --------------------------------------------------------------------------------

def _same_as(commitment: Commitment, previous: list[dict[str, Any]]) -> int | None:
    """The previous commitment this one restates: same committer and mostly the same words."""
    terms = _terms(commitment.text)
    best, best_overlap = None, 0.0
    for index, item in enumerate(previous):
        if item.get("committed_by") != commitment.committed_by:
            continue
        other = _terms(str(item.get("text") or ""))
        if terms and other:
            overlap = len(terms & other) / len(terms | other)
            if overlap >= 0.5 and overlap > best_overlap:
                best, best_overlap = index, overlap
    return best


def _change(message: Message, item: dict[str, Any], previous: list[dict[str, Any]]) -> dict[str, Any] | None:
    committer = item.get("committed_by")
    creditors = item.get("committed_to") or []
    text = message.text
    related = bool(_terms(text) & _terms(str(item.get("text") or "")))
    only_open = sum(1 for p in previous if p.get("committed_by") == committer and _status(p) == "open") == 1
    if message.sender == committer:
        if _WITHDRAW.search(text) and (related or only_open):
            return {"status": "cancelled"}
        if _DONE.search(text) and (related or only_open) and not text.rstrip().endswith("?"):
            return {"status": "done"}
        if _RESCHEDULE.search(text) and related:
            due = first_due(text, message.sent_at)
            if due is not None:
                return {"due_at": due.due_at.isoformat()}
    elif message.sender in creditors or not creditors:
        if _RELEASE.search(text) and (related or only_open):
            return {"status": "cancelled"}
        if _THANKS.search(text) and related:
            return {"status": "done"}
    return None


def _status(item: dict[str, Any]) -> str:
    status = item.get("status") or "open"
    return status if status in ("open", "done", "cancelled") else "open"


@lru_cache(maxsize=4096)
def _terms(text: str) -> frozenset[str]:
    """Cached: reconciliation compares every new message with every open commitment."""
    return frozenset(stem(_IRREGULAR.get(w, w)) for w in content_words(text))

"""Eve's answer, offline: the source sentences that best match the question, quoted with citations.

Each sentence of each source is scored by the question's content words it contains (stemmed, weighted
by their background rarity, so "concert" counts more than "time"), with a small bonus for a source
ranked early by search. The best one to three sentences, from different sources where possible, are
quoted with their source ids; when nothing matches, the answer says so and cites nothing.
"""

from __future__ import annotations

from typing import Any

from backend.llm.offline.textutil import background_weight, content_words, sentences, stem

MAX_QUOTES = 3
NOT_FOUND = "I couldn't find that in your messages."
_QUESTION_WORDS = frozenset(["did", "does", "was", "were", "when", "where", "who", "whom", "what", "which", "how", "why", "has", "have", "said", "say"])


def answer(block: dict[str, Any]) -> dict[str, Any]:
    question = str(block.get("question") or "")
    sources = [s for s in block.get("sources") or [] if isinstance(s, dict) and s.get("id")]
    wanted = {stem(w) for w in content_words(question) if w not in _QUESTION_WORDS}
    if not wanted:  # a follow-up ("and then?"): borrow the words of the previous user turn
        earlier = [t.get("content", "") for t in block.get("history") or [] if t.get("role") == "user"]
        wanted = {stem(w) for w in content_words(earlier[-1] if earlier else "")}
    scored = []
    for rank, source in enumerate(sources):
        for sentence in sentences(str(source.get("text") or "")):
            terms = {stem(w) for w in content_words(sentence)}
            score = sum(background_weight(t) for t in terms & wanted)
            if score:
                scored.append((score * (1 + 0.5 / (rank + 1)), rank, source, sentence))
    scored.sort(key=lambda item: (-item[0], item[1]))

    quotes: list[tuple[dict[str, Any], str]] = []
    for _, _, source, sentence in scored:  # breadth first: the best sentence of each source
        if len(quotes) < MAX_QUOTES and all(s is not source for s, _ in quotes):
            quotes.append((source, sentence))
    for _, _, source, sentence in scored:  # then more of the same sources, if room is left
        if len(quotes) < MAX_QUOTES and (source, sentence) not in quotes:
            quotes.append((source, sentence))
    if not quotes:
        return {"answer": NOT_FOUND, "answered": False, "citations": []}

    lines = ["Here is what I found in your messages:"]
    citations: list[dict[str, str]] = []
    for source, sentence in quotes:
        lines.append(f"- {_attribution(source)}\u201c{sentence}\u201d [{source['id']}]")
        if all(c["source_id"] != source["id"] for c in citations):
            citations.append({"source_id": str(source["id"]), "quote": sentence})
    return {"answer": "\n".join(lines), "answered": True, "citations": citations}


def _attribution(source: dict[str, Any]) -> str:
    sender, sent_at = source.get("sender"), str(source.get("sent_at") or "")[:10]
    if sender and sent_at:
        return f"{sender} on {sent_at}: "
    if sender:
        return f"{sender}: "
    if source.get("title"):
        return f"{source['title']}: "
    return ""

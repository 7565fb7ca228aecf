"""An extractive summary: the sentences of a conversation that say the most (two to five, by its length).

Sentences are weighed as TF-IDF vectors (term frequency times the background weight of
`textutil.background_weight`), ranked by a small TextRank (PageRank over their cosine similarities,
so a sentence that shares its words with many others is central), and boosted by how much they carry
(their number of content words) and by coming early, questions counting less. The best ones are
taken greedily, skipping near-duplicates, and put back in time order.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from backend.llm.offline.conversation import Conversation, Message
from backend.llm.offline.textutil import background_weight, content_words, sentences, stem

MIN_CONTENT_WORDS = 2
DAMPING = 0.85
ITERATIONS = 30
DUPLICATE_SIMILARITY = 0.75  # sentences sharing most of their weighted words say the same thing
LEAD_BONUS = 0.25  # the opening of a conversation tends to set its subject
QUESTION_WEIGHT = 0.7  # a question says less about what happened than a statement does
MAX_SENTENCES = 5
MAX_CANDIDATES = 250  # TextRank is quadratic: long conversations keep their most informative sentences


@dataclass(frozen=True)
class Sentence:
    message: Message
    text: str
    order: int
    vector: dict[str, float]

    @property
    def size(self) -> int:
        return len(self.vector)


def summarize(conversation: Conversation) -> list[Sentence]:
    """The summary sentences in time order; none for a conversation without sentences to quote."""
    candidates = _candidates(conversation)
    if not candidates:
        return []
    ranks = _textrank(candidates)
    def score(i: int) -> float:
        weight = QUESTION_WEIGHT if candidates[i].text.rstrip().endswith("?") else 1.0
        lead = 1 + LEAD_BONUS * (1 - i / len(candidates))
        return ranks[i] * math.log(1 + candidates[i].size) * weight * lead

    scored = sorted(range(len(candidates)), key=lambda i: (-score(i), candidates[i].order))
    wanted = summary_length(len(candidates))
    chosen: list[Sentence] = []
    for index in scored:
        candidate = candidates[index]
        if all(_cosine(candidate.vector, c.vector) < DUPLICATE_SIMILARITY for c in chosen):
            chosen.append(candidate)
        if len(chosen) == wanted:
            break
    return sorted(chosen, key=lambda s: s.order)


def summary_length(candidates: int) -> int:
    """How many sentences a summary takes: all of a short exchange, then about the square root, up to
    MAX_SENTENCES (4 candidates: 2, 9: 3, 16: 4, 25 or more: 5)."""
    if candidates <= 2:
        return candidates
    return max(2, min(MAX_SENTENCES, round(math.sqrt(candidates))))


def summary_text(chosen: list[Sentence]) -> str:
    """`Sam: "I'll send you the photos tomorrow."` for each sentence, so nothing is put in anyone's mouth."""
    return " ".join(f'{s.message.sender}: "{s.text}"' for s in chosen)


def _candidates(conversation: Conversation) -> list[Sentence]:
    found: list[Sentence] = []
    for message in conversation.messages:
        for text in sentences(message.text):
            terms = Counter(stem(w) for w in content_words(text))
            if sum(terms.values()) < MIN_CONTENT_WORDS:
                continue
            vector = {term: (1 + math.log(count)) * background_weight(term) for term, count in terms.items()}
            found.append(Sentence(message=message, text=text, order=len(found), vector=vector))
    if len(found) > MAX_CANDIDATES:
        found = sorted(found, key=lambda s: -sum(s.vector.values()))[:MAX_CANDIDATES]
        found.sort(key=lambda s: s.order)
    return found


def _textrank(items: list[Sentence]) -> list[float]:
    size = len(items)
    weights = [[_cosine(a.vector, b.vector) if a is not b else 0.0 for b in items] for a in items]
    # share[j][i]: the part of sentence j's rank that flows to i (evenly to all when j links to none)
    share = [[w / sum(row) for w in row] if sum(row) else [1.0 / size] * size for row in weights]
    ranks = [1.0 / size] * size
    for _ in range(ITERATIONS):
        ranks = [
            (1 - DAMPING) / size + DAMPING * sum(ranks[j] * share[j][i] for j in range(size))
            for i in range(size)
        ]
    return ranks


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    shared = a.keys() & b.keys()
    if not shared:
        return 0.0
    dot = sum(a[t] * b[t] for t in shared)
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))

"""Topics as keywords: the words and two-word phrases of a text that are frequent here and rare in
everyday chat (TF-IDF against the background ranking of `textutil`).

Words are grouped by a light stem ("ticket"/"tickets") and shown in their most frequent written form.
A two-word phrase ("concert tickets") replaces its words when it occurs at least twice, or once when
both its words are uncommon. Names of
people are left to entities, and date words to dates.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from backend.llm.offline.textutil import background_weight, content_words, sentences, stem

MAX_TOPICS = 6
MIN_TOPICS = 3
RELATIVE_CUTOFF = 0.3  # beyond the first MIN_TOPICS, keep topics scoring at least this share of the best
_DATE_WORDS = frozenset(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "today", "tomorrow", "tonight", "yesterday", "morning", "afternoon", "evening", "night", "week", "weekend", "month", "year", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "tmrw", "hour", "hours", "minute", "minutes", "next", "last", "ago"]
)
# Words that judge rather than name a subject: emotions and evaluations are reported elsewhere.
_EVALUATIVE = frozenset(
    ["amazing", "awesome", "great", "nice", "best", "worst", "good", "bad", "better", "worse", "cool", "lovely", "beautiful", "wonderful", "fantastic", "incredible", "unbelievable", "terrible", "horrible", "awful", "funny", "hilarious", "crazy", "weird", "cute", "sad", "happy", "glad", "excited", "exciting", "jealous", "sorry", "tired", "busy", "ready", "free", "late", "early", "fine", "true", "real", "whole", "full", "huge", "tiny", "little", "big", "super", "totally", "absolutely", "pretty", "honestly", "seriously", "basically", "exactly", "perfect", "wow", "yay", "ugh"]
)
RARE_WORD_WEIGHT = 5.0  # log(rank + 20): beyond the ~130 commonest words of the background list
INFLECTED_WEIGHT = 0.6  # "fell", "walking": verbs name a subject less often than nouns do


def topics(texts: list[str], *, exclude: set[str] | frozenset[str] = frozenset(), limit: int = MAX_TOPICS) -> list[str]:
    """Three to `limit` topics of the texts, best first (fewer when there is little to go on)."""
    excluded = {w.lower() for w in exclude} | _DATE_WORDS | _EVALUATIVE
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    unigrams: Counter[str] = Counter()
    bigrams: Counter[tuple[str, str]] = Counter()
    for text in texts:
        for sentence in sentences(text):
            tokens = [w for w in content_words(sentence) if w not in excluded and not w.isdigit()]
            stems = [stem(w) for w in tokens]
            for word, key in zip(tokens, stems, strict=True):
                forms[key][word] += 1
                unigrams[key] += 1
            for pair in _adjacent_pairs(sentence, tokens, stems):
                bigrams[pair] += 1

    scores: dict[str, float] = {}
    label_of: dict[str, str] = {}
    for key, count in unigrams.items():
        label_of[key] = forms[key].most_common(1)[0][0]
        inflected = label_of[key].endswith(("ed", "ing", "ly"))
        scores[key] = (1 + math.log(count)) * background_weight(key) * (INFLECTED_WEIGHT if inflected else 1.0)
    for (first, second), count in bigrams.items():
        if count < 2 and min(background_weight(first), background_weight(second)) < RARE_WORD_WEIGHT:
            continue  # a phrase said once counts when both its words are uncommon ("concert tickets")
        phrase = f"{first} {second}"
        scores[phrase] = (1 + math.log(count)) * (background_weight(first) + background_weight(second)) * 0.75
        label_of[phrase] = f"{label_of[first]} {label_of[second]}"
        for part in (first, second):  # the phrase stands for its words
            scores[part] = min(scores[part], scores[phrase] * 0.5)

    ranked = sorted(scores, key=lambda k: (-scores[k], label_of[k]))
    chosen: list[str] = []
    for key in ranked:
        if len(chosen) >= limit:
            break
        if len(chosen) >= MIN_TOPICS and scores[key] < RELATIVE_CUTOFF * scores[ranked[0]]:
            break
        label = label_of[key]
        if any(label in c.split() or c in label.split() for c in chosen):
            continue  # "tickets" after "concert tickets"
        chosen.append(label)
    return chosen


def _adjacent_pairs(sentence: str, tokens: list[str], stems: list[str]) -> list[tuple[str, str]]:
    """Pairs of content words that stand next to each other in the sentence (no word between)."""
    lowered = sentence.lower().replace("’", "'")
    pairs = []
    for i in range(len(tokens) - 1):
        if f"{tokens[i]} {tokens[i + 1]}" in lowered:
            pairs.append((stems[i], stems[i + 1]))
    return pairs

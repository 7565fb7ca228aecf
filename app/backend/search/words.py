"""The words of a query: what full-text search matches on, without the words nearly every message has."""

from __future__ import annotations

import re

STOPWORDS = frozenset([
    "a", "about", "after", "again", "all", "am", "an", "and", "any", "are", "as", "at", "be", "been", "before",
    "but", "by", "can", "could", "did", "do", "does", "doing", "for", "from", "had", "has", "have", "he", "her",
    "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "no", "not", "of", "on", "or",
    "our", "she", "so", "than", "that", "the", "their", "them", "then", "there", "they", "this", "to", "too",
    "up", "us", "was", "we", "were", "what", "when", "where", "which", "who", "whom", "why", "will", "with",
    "would", "you", "your", "yours", "said", "say", "tell", "told", "ever", "get", "got", "just", "anything",
    "something", "should", "shall", "might", "must", "let", "lets", "gonna", "wanna", "anyone", "someone",
    "here",
])


def query_words(q: str) -> list[str]:
    """Lower-cased words of two or more characters, in order."""
    return [w for w in re.findall(r"\w+", q.lower()) if len(w) > 1]


def content_words(q: str) -> list[str]:
    """The query's words without stopwords, each once; all of its words when it is stopwords alone."""
    words = list(dict.fromkeys(query_words(q)))
    return [w for w in words if w not in STOPWORDS] or words

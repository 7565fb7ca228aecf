"""Marks of a message that the word index cannot hold: its emoji and symbols, and whether it has a link.

The full-text tokenizer (unicode61) drops every character that is not a letter or a digit, so "😂" or "€"
can never match there. Each message's symbol clusters (an emoji with its skin tone, variation selector
and zero-width-joined parts; a flag; a currency or other symbol) are kept in `message_marks` beside the
word index, with LINK_MARK for a message whose text holds a web address.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence

LINK_MARK = "has:link"
_LINK = re.compile(r"https?://|www\.\w", re.IGNORECASE)
_SYMBOL_CATEGORIES = frozenset({"So", "Sc", "Sm"})
_ZWJ = "\u200d"
_KEYCAP = "\u20e3"
_SKIN_TONES = frozenset(chr(c) for c in range(0x1F3FB, 0x1F400))
_SELECTORS = frozenset(chr(c) for c in range(0xFE00, 0xFE10))
_TAGS = frozenset(chr(c) for c in range(0xE0020, 0xE0080))  # subdivision flags (England, Scotland)
_REGIONAL = frozenset(chr(c) for c in range(0x1F1E6, 0x1F200))
# Where a cluster may start: anything but the ASCII characters outside So/Sc/Sm (all of ASCII bar $ + < = > | ~).
# Most message texts have none, and the scan jumps from one to the next instead of testing every character.
_CANDIDATE = re.compile(r"[^\x00-\x23\x25-\x2a\x2c-\x3b\x3f-\x7b\x7d\x7f]")


def _is_base(char: str) -> bool:
    return unicodedata.category(char) in _SYMBOL_CATEGORIES and char not in _SKIN_TONES


def normalize(cluster: str) -> str:
    """A cluster as stored and looked up: without variation selectors (❤️ and ❤ are one symbol)."""
    return "".join(c for c in cluster if c not in _SELECTORS)


def symbol_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, normalized cluster) of each symbol cluster in `text`, offsets in code points."""
    i, n = 0, len(text)
    for candidate in _CANDIDATE.finditer(text):
        start = candidate.start()
        char = text[start]
        if start < i or not _is_base(char):
            continue
        i = start + 1
        if char in _REGIONAL and i < n and text[i] in _REGIONAL:  # a flag is a pair of regional letters
            i += 1
        while i < n:
            nxt = text[i]
            if nxt in _SKIN_TONES or nxt in _SELECTORS or nxt in _TAGS or nxt == _KEYCAP:
                i += 1
            elif nxt == _ZWJ and i + 1 < n and _is_base(text[i + 1]):
                i += 2
            else:
                break
        yield start, i, normalize(text[start:i])


def base_symbol(cluster: str) -> str:
    """The cluster without skin tones: 👍🏽 is also found by 👍."""
    return "".join(c for c in cluster if c not in _SKIN_TONES)


def message_marks(text: str | None) -> set[str]:
    """The marks of one message text: each symbol cluster (and its toneless base), LINK_MARK if linked."""
    if not text:
        return set()
    marks: set[str] = set()
    for _, _, cluster in symbol_spans(text):
        marks.add(cluster)
        marks.add(base_symbol(cluster))
    if _LINK.search(text):
        marks.add(LINK_MARK)
    marks.discard("")
    return marks


def mark_rows(rows: Sequence[tuple[int, str]]) -> list[tuple[str, int]]:
    """(mark, message_id) for (message_id, text) rows."""
    return [(mark, message_id) for message_id, text in rows for mark in sorted(message_marks(text))]

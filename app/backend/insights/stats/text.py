"""Emoji and words of message texts: emoji as the `emoji` package segments them (skin tones and ZWJ sequences
stay whole), words as runs of letters, lower-cased, at least two long, stopwords of every language stopwordsiso
covers removed, numbers and links left out."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

import emoji
import stopwordsiso

_WORD = re.compile(r"[^\W\d_]{2,}(?:['’][^\W\d_]+)?")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Stopwords of every language stopwordsiso covers (and their forms without apostrophes)."""
    words = {w.lower() for w in stopwordsiso.stopwords(stopwordsiso.langs())}
    return frozenset(words | {w.replace("'", "’") for w in words})


_EMOJI = frozenset(emoji.EMOJI_DATA)
_LONGEST = max(map(len, _EMOJI))
_FIRST = frozenset(e[0] for e in _EMOJI)


def emoji_in(text: str) -> list[str]:
    """The emoji of `text`, longest match first at each position (what emoji.emoji_list finds, faster)."""
    found: list[str] = []
    pos, end = 0, len(text)
    while pos < end:
        if text[pos] in _FIRST:
            for length in range(min(_LONGEST, end - pos), 0, -1):
                if text[pos:pos + length] in _EMOJI:
                    found.append(text[pos:pos + length])
                    pos += length
                    break
            else:
                pos += 1
        else:
            pos += 1
    return found


def count_emoji(texts: Iterable[str]) -> Counter[str]:
    # most messages are ASCII and hold no emoji; the rest are scanned as one string (no emoji spans texts:
    # they are joined by a newline, which starts none)
    return Counter(emoji_in("\n".join(text for text in texts if not text.isascii())))


def count_words(texts: Iterable[str]) -> Counter[str]:
    # Words never span whitespace, so the texts are split (in C) and counted first; the word pattern then runs
    # once per distinct token. A token holding a link (`://`, `www.`) counts no words.
    tokens = Counter("\n".join(texts).lower().split())
    counts: Counter[str] = Counter()
    for token, n in tokens.items():
        if "://" in token or "www." in token:
            continue
        for word in _WORD.findall(token):
            counts[word] += n
    for word in stopwords() & counts.keys():
        del counts[word]
    return counts

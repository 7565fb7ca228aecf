"""Where a parsed query matches inside a message text: (start, end) spans in code points, as the full-text
index matches (case and diacritics folded; words as prefixes, phrases as consecutive words; symbols)."""

from __future__ import annotations

import re
import unicodedata

from backend.search.marks import base_symbol, symbol_spans
from backend.search.query import ParsedQuery


def _fold(text: str) -> str:
    """Lower case without diacritics, one output character per input character (offsets kept)."""
    out = []
    for char in text:
        base = unicodedata.normalize("NFD", char)[0].lower()
        out.append(base if len(base) == 1 else char)
    return "".join(out)


def _patterns(parsed: ParsedQuery, *, inside: bool) -> list[re.Pattern[str]]:
    if inside:  # a partial match: the words wherever they are, as typed (case folded)
        patterns = [re.compile(re.escape(w.lower())) for w in parsed.words]
    else:
        patterns = [re.compile(rf"(?<![^\W_]){re.escape(_fold(w))}[^\W_]*") for w in parsed.words]
    patterns += [re.compile(r"(?<![^\W_])" + r"(?:[\W_]+)".join(re.escape(_fold(w)) for w in phrase)
                            + r"(?![^\W_])") for phrase in parsed.phrases]
    return patterns


def highlights(text: str | None, parsed: ParsedQuery, *, inside: bool = False) -> list[tuple[int, int]]:
    """Sorted, non-overlapping spans of `text` that the query matched; `inside`: a partial match (the words
    inside longer words)."""
    if not text:
        return []
    folded = text.lower() if inside and len(text.lower()) == len(text) else _fold(text)
    spans = [found.span() for pattern in _patterns(parsed, inside=inside) for found in pattern.finditer(folded)]
    if parsed.symbols:
        wanted = set(parsed.symbols)
        spans += [(start, end) for start, end, cluster in symbol_spans(text)
                  if cluster in wanted or base_symbol(cluster) in wanted]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        elif end > start:
            merged.append((start, end))
    return merged

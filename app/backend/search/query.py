"""The search box's language: words, "quoted phrases", emoji and symbols, and filters typed as operators.

    dinner "see you" 😂 from:Sam in:"Family" before:2025-06-01 after:2025-01-01 has:link has:attachment
    from:me  from:them  with:Sam (chats Sam is in)

Words match as prefixes ("din" finds "dinner"), phrases as consecutive words, symbols through the marks
table; every part must match (AND). When few messages match so, those holding the words inside longer words
("inner" in "dinner") follow as partial matches (message_search). Stopwords are left out of the words unless
the query has nothing else. An operator with an unknown key or an unreadable date stays a plain word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from backend.search.marks import LINK_MARK, symbol_spans
from backend.search.words import STOPWORDS

_TOKEN = re.compile(r'(?P<key>\w+):(?:"(?P<qval>[^"]*)"?|(?P<val>\S+))|"(?P<phrase>[^"]*)"?|(?P<bare>\S+)')
_WORD = re.compile(r"[^\W_]+")
_DATE = re.compile(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?$")


@dataclass
class ParsedQuery:
    words: list[str] = field(default_factory=list)  # lower-cased, matched as prefixes
    phrases: list[list[str]] = field(default_factory=list)  # each: consecutive words
    symbols: list[str] = field(default_factory=list)  # normalized clusters (marks)
    from_names: list[str] = field(default_factory=list)  # from:Sam (sender)
    with_names: list[str] = field(default_factory=list)  # with:Sam (chats they are in)
    chat_names: list[str] = field(default_factory=list)  # in:"Family"
    from_me: bool | None = None
    since: int | None = None  # unix ms, inclusive
    until: int | None = None  # unix ms, exclusive
    has_link: bool = False
    has_attachment: bool = False
    stopwords_only: list[str] = field(default_factory=list)  # dropped stopwords (used when nothing else)
    spoken: list[str] = field(default_factory=list)  # the text as typed, stopwords kept, operators left out

    @property
    def question(self) -> str:
        """The free text as typed, function words included: what a sentence model reads best."""
        return " ".join(self.spoken)

    @property
    def text(self) -> str:
        """The free text of the query (words and phrases), what the vector side embeds."""
        return " ".join([*self.words, *(" ".join(p) for p in self.phrases)])

    @property
    def has_full_text(self) -> bool:
        return bool(self.words or self.phrases or self.symbols)

    def fts_match(self) -> str | None:
        """The FTS5 expression of words and phrases (all must match), or None when there are none."""
        parts = [f'"{w}"*' for w in self.words] + ['"' + " ".join(p) + '"' for p in self.phrases]
        return " ".join(parts) or None

    def fts_match_any(self) -> str | None:
        """The same terms, any of them matching: what relevance ranks by bm25 (more terms rank higher)."""
        parts = [f'"{w}"*' for w in self.words] + ['"' + " ".join(p) + '"' for p in self.phrases]
        return " OR ".join(parts) or None

    def marks(self) -> list[str]:
        return [*self.symbols, *([LINK_MARK] if self.has_link else [])]


def _date_ms(value: str, *, end: bool) -> int | None:
    """Unix ms of a date (YYYY-MM-DD or YYYY-MM, UTC); `end`: of the day (month) after it."""
    found = _DATE.match(value)
    if not found:
        return None
    year, month, day = int(found[1]), int(found[2]), found[3]
    try:
        if day is None:
            start = datetime(year, month, 1, tzinfo=UTC)
            if end:
                start = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        else:
            start = datetime(year, month, int(day), tzinfo=UTC) + (timedelta(days=1) if end else timedelta())
    except ValueError:
        return None
    return int(start.timestamp() * 1000)


def _text_terms(text: str, parsed: ParsedQuery, *, phrase: bool) -> None:
    if _WORD.search(text):
        parsed.spoken.append(text)
    parsed.symbols.extend(cluster for _, _, cluster in symbol_spans(text) if cluster not in parsed.symbols)
    words = [w.lower() for w in _WORD.findall(text)]
    if phrase and words:
        parsed.phrases.append(words)
        return
    for word in words:
        if word in STOPWORDS:
            parsed.stopwords_only.append(word)
        elif word not in parsed.words:
            parsed.words.append(word)


def _operator(key: str, value: str, parsed: ParsedQuery) -> bool:
    """Applies one key:value; False when it is not an operator (then it is searched as text)."""
    low = value.lower()
    if key == "from" and low in ("me", "them"):
        parsed.from_me = low == "me"
    elif key == "from" and value:
        parsed.from_names.append(value)
    elif key == "with" and value:
        parsed.with_names.append(value)
    elif key == "in" and value:
        parsed.chat_names.append(value)
    elif key == "has" and low in ("link", "links", "url"):
        parsed.has_link = True
    elif key == "has" and low in ("attachment", "attachments", "file", "photo", "image"):
        parsed.has_attachment = True
    elif key in ("before", "until") and (at := _date_ms(value, end=False)) is not None:
        parsed.until = at if parsed.until is None else min(parsed.until, at)
    elif key in ("after", "since") and (at := _date_ms(value, end=True)) is not None:
        parsed.since = at if parsed.since is None else max(parsed.since, at)
    elif key == "on" and (at := _date_ms(value, end=False)) is not None:
        parsed.since, parsed.until = at, _date_ms(value, end=True)
    else:
        return False
    return True


def parse_query(q: str) -> ParsedQuery:
    parsed = ParsedQuery()
    for token in _TOKEN.finditer(q):
        if token["key"]:
            value = token["qval"] if token["qval"] is not None else token["val"]
            if _operator(token["key"].lower(), value.strip(), parsed):
                continue
            _text_terms(token.group(0), parsed, phrase=token["qval"] is not None)
        elif token["phrase"] is not None:
            _text_terms(token["phrase"], parsed, phrase=True)
        else:
            _text_terms(token["bare"], parsed, phrase=False)
    if not parsed.words and not parsed.phrases and not parsed.symbols:
        parsed.words = list(dict.fromkeys(parsed.stopwords_only))
    return parsed

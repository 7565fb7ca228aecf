"""The offline intent router's reading of a question: which common form it takes, about whom, over when.

    parse("How many messages did I exchange with Sam this year?")
    -> Intent(kind="count", person="Sam", period=Period(since="2026-01-01", until="2026-12-31", label="this year"))

Forms: top (who do I text the most), count (how many messages with X), last (when did I last talk to X),
starts (who starts our conversations), said (what did X say about Y), promises_mine / promises_theirs
(what did I promise / what was promised to me), summary (summarise my chat with X), year (my year in
review). Anything else is None: the caller answers with matching messages and says a model is needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

_MONTHS = {m: i for i, m in enumerate(["january", "february", "march", "april", "may", "june", "july", "august",
                                        "september", "october", "november", "december"], start=1)}


@dataclass(frozen=True)
class Span:
    since: str | None  # ISO day, inclusive (local time); None: open
    until: str | None  # ISO day, inclusive
    label: str  # as the answer says it: "this year", "in 2024", "all time"
    preset: str | None = None  # "30d", "this_year", "last_year", "all" when it is one


ALL_TIME = Span(None, None, "all time", "all")


@dataclass(frozen=True)
class Intent:
    kind: str
    person: str | None = None
    topic: str | None = None
    span: Span = ALL_TIME
    year: int | None = None


def _span(text: str, today: date) -> tuple[Span | None, str]:
    """The period a question names, and the question without it."""
    def cut(match: re.Match[str]) -> str:
        return (text[:match.start()] + " " + text[match.end():]).strip()

    rules: list[tuple[str, object]] = [
        (r"\b(?:over |in |during )?the (?:last|past) (\d+) days\b", "days"),
        (r"\b(?:in |during )?the (?:last|past) (week|month|year)\b", "past"),
        (r"\btoday\b", "today"),
        (r"\b(?:this|the current) week\b", "this_week"),
        (r"\blast week\b", "last_week"),
        (r"\b(?:this|the current) month\b", "this_month"),
        (r"\blast month\b", "last_month"),
        (r"\b(?:this|the current) year\b", "this_year"),
        (r"\blast year\b", "last_year"),
        (r"\b(?:in |during )?(january|february|march|april|may|june|july|august|september|october|november|"
         r"december) (\d{4})\b", "month_of"),
        (r"\b(?:in |during |of )?(\d{4})\b", "year"),
        (r"\b(?:of )?all time\b|\bever\b", "all"),
    ]
    for pattern, kind in rules:
        match = re.search(pattern, text, re.IGNORECASE)
        if not match:
            continue
        if kind == "days":
            n = int(match.group(1))
            return Span((today - timedelta(days=n - 1)).isoformat(), today.isoformat(), f"in the last {n} days"), \
                cut(match)
        if kind == "past":
            n = {"week": 7, "month": 30, "year": 365}[match.group(1).lower()]
            return Span((today - timedelta(days=n - 1)).isoformat(), today.isoformat(),
                        f"in the past {match.group(1).lower()}"), cut(match)
        if kind == "today":
            return Span(today.isoformat(), today.isoformat(), "today"), cut(match)
        if kind in ("this_week", "last_week"):
            monday = today - timedelta(days=today.weekday()) - timedelta(days=7 if kind == "last_week" else 0)
            end = monday + timedelta(days=6)
            return Span(monday.isoformat(), end.isoformat(), kind.replace("_", " ")), cut(match)
        if kind in ("this_month", "last_month"):
            first = today.replace(day=1)
            if kind == "last_month":
                first = (first - timedelta(days=1)).replace(day=1)
            nxt = (first + timedelta(days=32)).replace(day=1)
            return Span(first.isoformat(), (nxt - timedelta(days=1)).isoformat(), kind.replace("_", " ")), cut(match)
        if kind in ("this_year", "last_year"):
            year = today.year - (kind == "last_year")
            return Span(f"{year}-01-01", f"{year}-12-31", kind.replace("_", " "), kind), cut(match)
        if kind == "month_of":
            month, year = _MONTHS[match.group(1).lower()], int(match.group(2))
            first = date(year, month, 1)
            nxt = (first + timedelta(days=32)).replace(day=1)
            return Span(first.isoformat(), (nxt - timedelta(days=1)).isoformat(),
                        f"in {match.group(1).capitalize()} {year}"), cut(match)
        if kind == "year":
            year = int(match.group(1))
            if 1990 <= year <= 2100:
                return Span(f"{year}-01-01", f"{year}-12-31", f"in {year}"), cut(match)
            continue
        return ALL_TIME, cut(match)
    return None, text


_PERSON_END = r"(?:\s*(?:[?.!,]|$))"
_FORMS: list[tuple[str, str]] = [
    # (kind, pattern); named groups: person, topic
    ("year", r"\b(?:year in review|review (?:of )?my year|how was my year|my year)\b"),
    ("top", r"\bwho (?:do|did|have) i (?:text|message|talk to|talk with|chat with|speak (?:to|with)|write to)"
            r"(?: with)? (?:the )?most\b|\bwho (?:are|is|were|was) my (?:top|most texted|most frequent)"
            r"|\bmost texted (?:person|people|contacts?)\b|\btop (?:people|contacts)\b"
            r"|\bwho (?:texts|messages) me (?:the )?most\b"),
    ("promises_theirs", r"\bwhat (?:was|were|has been|have been) (?:i )?promised to me\b|\bwhat did (?:people|anyone|"
                        r"they|others) promise me\b|\bpromises? (?:made )?to me\b|\bwho owes me\b"),
    ("promises_mine", r"\bwhat (?:did|have) i promised?\b|\bwhat promises did i make\b|\bmy promises\b"
                      r"|\bwhat do i owe\b|\bwhat did i commit to\b"),
    ("said", r"\bwhat (?:did|has|does) (?P<person>.+?) (?:say|said|tell me|text me|write|mention) (?:about|on|"
             r"regarding) (?P<topic>.+?)" + _PERSON_END),
    ("count", r"\bhow many (?:messages|texts) (?:did|have|do) (?:i|we) (?:exchange|send|sent|have|had|swap)"
              r"(?: each other)? (?:with|to) (?P<person>.+?)" + _PERSON_END
              + r"|\bhow many (?:messages|texts) (?:with|between me and|to and from) (?P<person2>.+?)"
              + _PERSON_END + r"|\bhow (?:much|often) (?:do|did) i (?:text|message|talk to|talk with) "
              r"(?P<person3>.+?)" + _PERSON_END),
    ("last", r"\bwhen (?:did|have) i last (?:talk|text|message|speak|chat|write)(?:ed)? (?:to|with)? ?(?P<person>.+?)"
             + _PERSON_END + r"|\bwhen was (?:the )?last time i (?:talked|texted|messaged|spoke|chatted|wrote)"
             r" (?:to |with )?(?P<person2>.+?)" + _PERSON_END + r"|\blast (?:message|text|contact) "
             r"(?:with|from|to) (?P<person3>.+?)" + _PERSON_END),
    ("starts", r"\bwho (?:usually |normally |mostly )?(?:starts|initiates|begins|texts first in) (?:our|my|the)"
               r" (?:conversations?|chats?)(?: with (?P<person>.+?))?" + _PERSON_END
               + r"|\bwho (?:usually |normally )?texts first,? (?:me or (?P<person2>.+?)|(?P<person3>.+?) or me)"
               + _PERSON_END),
    ("summary", r"\b(?:summari[sz]e|sum up|recap|give me a summary of|what happened in) (?:my |our )?"
                r"(?:chats?|conversations?|messages?|texts?) (?:with|from) (?P<person>.+?)" + _PERSON_END),
]


def _clean_person(value: str | None) -> str | None:
    if not value:
        return None
    value = re.sub(r"^(?:with|to|from|and)\s+", "", value.strip(), flags=re.IGNORECASE)
    value = re.sub(r"\s+(?:and me|and i|recently|lately|so far|most)$", "", value, flags=re.IGNORECASE)
    value = value.strip(" ?.!,'\"")
    return value or None


def parse(question: str, *, today: date | None = None) -> Intent | None:
    today = today or datetime.now().astimezone().date()
    text = " ".join(question.split())
    span, rest = _span(text, today)
    year_match = re.search(r"\b(\d{4})\b", text)
    for kind, pattern in _FORMS:
        match = re.search(pattern, rest, re.IGNORECASE)
        if match is None:
            continue
        groups = match.groupdict()
        person = _clean_person(next((groups[g] for g in ("person", "person2", "person3") if groups.get(g)), None))
        topic = (groups.get("topic") or "").strip(" ?.!,'\"") or None
        if kind == "year":
            year = int(year_match.group(1)) if year_match else (today.year - 1 if span and span.preset == "last_year"
                                                                else today.year)
            return Intent(kind="year", year=year)
        if kind in ("count", "last", "said", "summary") and person is None:
            continue
        default = ALL_TIME
        if kind == "summary":
            default = Span((today - timedelta(days=today.weekday())).isoformat(),
                           (today - timedelta(days=today.weekday()) + timedelta(days=6)).isoformat(), "this week")
        return Intent(kind=kind, person=person, topic=topic, span=span or default)
    return None

"""Dates and times written in chat ("tomorrow at 7", "on Friday", "in 2 hours", "May 3rd"), resolved
against the moment the message was sent, in the sender's own UTC offset.

Rules (the same ones the commitment prompts state):
- a weekday is its next occurrence after the message's day; "next Friday" is the one in the following
  week when this week's Friday is still ahead;
- "tonight" is 20:00, "this evening" 19:00, "morning" 09:00, "afternoon" 15:00, "night" 21:00;
- a bare clock hour after "at"/"by"/"around" from 1 to 7 is afternoon or evening (at 5 -> 17:00), and
  so is 8 to 11 when the text speaks of dinner, drinks, a party, a film... (dinner at 8 -> 20:00);
- a day without a time is due at its end (23:59).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

_EVENING = re.compile(r"\b(?:dinner|drinks?|party|movie|film|show|concert|bar|pub|tonight|evening|night)\b", re.I)
_PART_OF_DAY = {"morning": time(9), "afternoon": time(15), "evening": time(19), "night": time(21)}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a couple of": 2, "a few": 3,
}
END_OF_DAY = time(23, 59)
_PART = r"(?:\s+(morning|afternoon|evening|night))?"
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ORD = r"(?:st|nd|rd|th)?"
_AMOUNT = r"(\d{1,3}|a couple of|a few|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"


@dataclass(frozen=True)
class DateMention:
    text: str
    start: int
    end: int
    day: date
    clock: time | None  # stated or implied time of day; None for a whole day
    reference: datetime

    @property
    def kind(self) -> str:
        return "time" if self.clock else "date"

    @property
    def value(self) -> str:
        """ISO 8601: a date ("2024-05-04"), or a date-time with the message's offset."""
        if self.clock is None:
            return self.day.isoformat()
        return self.at(self.clock).isoformat()

    @property
    def due_at(self) -> datetime:
        return self.at(self.clock or END_OF_DAY)

    def at(self, clock: time) -> datetime:
        return datetime.combine(self.day, clock, tzinfo=self.reference.tzinfo)


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    day: date | None
    clock: time | None
    ambiguous: bool = False  # a bare hour ("at 8"): morning or evening is decided by context


def find_dates(text: str, reference: datetime) -> list[DateMention]:
    """Every date or time in `text`, a day and an adjacent time merged ("Friday at 5pm")."""
    days = _non_overlapping(_scan(text, reference, _DAY_RULES))
    clocks = [c for c in _non_overlapping(_scan(text, reference, _TIME_RULES)) if not _inside(c, days)]
    evening = bool(_EVENING.search(text))
    mentions: list[_Span] = []
    used: set[int] = set()
    for day in days:
        partner = next((c for c in clocks if id(c) not in used and _adjacent(text, day, c)), None)
        if partner and day.clock is None:
            used.add(id(partner))
            clock = partner.clock
            if partner.ambiguous and clock and (1 <= clock.hour <= 7 or (evening and 8 <= clock.hour <= 11)):
                clock = clock.replace(hour=clock.hour + 12)  # "Friday at 5" is 17:00, "dinner tomorrow at 8" 20:00
            mentions.append(_Span(min(day.start, partner.start), max(day.end, partner.end), day.day, clock))
        else:
            mentions.append(day)
    for lone in clocks:
        if id(lone) not in used:
            mentions.append(_lone_clock(lone, reference, evening=evening))
    mentions.sort(key=lambda s: s.start)
    return [
        DateMention(text=text[s.start:s.end], start=s.start, end=s.end, day=s.day, clock=s.clock, reference=reference)
        for s in mentions if s.day is not None
    ]


def first_due(text: str, reference: datetime) -> DateMention | None:
    found = find_dates(text, reference)
    return found[0] if found else None


# --- rules ----------------------------------------------------------------------------------------

# A resolver returns (day, clock) or (day, clock, ambiguous), or None when the match is no date after all.
Resolver = Callable[[re.Match[str], datetime], tuple[Any, ...] | None]


def _relative(days: int, default: time | None = None) -> Resolver:
    def resolve(match: re.Match[str], ref: datetime) -> tuple[date, time | None]:
        part = match.group(1) if match.re.groups else None
        return ref.date() + timedelta(days=days), _PART_OF_DAY.get(part or "", default)
    return resolve


def _weekday(match: re.Match[str], ref: datetime) -> tuple[date, time | None]:
    qualifier, name, part = match.group(1), match.group(2), match.group(3)
    target = _WEEKDAYS.index(name.lower())
    ahead = (target - ref.weekday()) % 7 or 7
    day = ref.date() + timedelta(days=ahead)
    if qualifier and qualifier.lower() == "next" and day.isocalendar()[:2] == ref.date().isocalendar()[:2]:
        day += timedelta(days=7)
    return day, _PART_OF_DAY.get((part or "").lower())


def _weekend(match: re.Match[str], ref: datetime) -> tuple[date, time | None]:
    ahead = (5 - ref.weekday()) % 7 if ref.weekday() != 6 else 0
    day = ref.date() + timedelta(days=ahead)
    if (match.group(1) or "").lower() == "next":
        day += timedelta(days=7)
    return day, None


def _next_week(_match: re.Match[str], ref: datetime) -> tuple[date, time | None]:
    return ref.date() + timedelta(days=7 - ref.weekday()), None


def _end_of_week(_match: re.Match[str], ref: datetime) -> tuple[date, time | None]:
    return ref.date() + timedelta(days=max(0, 4 - ref.weekday())), None


def _next_month(_match: re.Match[str], ref: datetime) -> tuple[date, time | None]:
    first = ref.date().replace(day=1)
    return (first + timedelta(days=32)).replace(day=1), None


def _in_amount(match: re.Match[str], ref: datetime) -> tuple[date, time | None]:
    amount_text, unit = match.group(1).lower(), match.group(2).lower()
    amount = int(amount_text) if amount_text.isdigit() else _NUMBER_WORDS[amount_text]
    if unit.startswith(("min", "hour", "hr")):
        delta = timedelta(minutes=amount) if unit.startswith("min") else timedelta(hours=amount)
        moment = ref + delta
        return moment.date(), moment.time().replace(second=0, microsecond=0)
    days = amount * 7 if unit.startswith("week") else amount
    return ref.date() + timedelta(days=days), None


def _month_day(month_group: int, day_group: int, year_group: int) -> Resolver:
    def resolve(match: re.Match[str], ref: datetime) -> tuple[date, time | None] | None:
        month = _MONTHS.index(match.group(month_group)[:3].lower()) + 1
        year = int(match.group(year_group)) if match.group(year_group) else ref.year
        try:
            day = date(year, month, int(match.group(day_group)))
        except ValueError:
            return None
        if not match.group(year_group) and day < ref.date() - timedelta(days=60):
            day = day.replace(year=year + 1)  # "Jan 5" said in December
        return day, None
    return resolve


def _iso_date(match: re.Match[str], _ref: datetime) -> tuple[date, time | None] | None:
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3))), None
    except ValueError:
        return None


def _day_of_month(match: re.Match[str], ref: datetime) -> tuple[date, time | None] | None:
    wanted = int(match.group(1))
    candidate = ref.date()
    for _ in range(62):  # the next date with that day number, today included
        if candidate.day == wanted:
            return candidate, None
        candidate += timedelta(days=1)
    return None


def _clock(hour_group: int, minute_group: int, meridiem_group: int | None) -> Resolver:
    def resolve(match: re.Match[str], _ref: datetime) -> tuple[Any, ...] | None:
        hour, minute = int(match.group(hour_group)), int(match.group(minute_group) or 0)
        meridiem = (match.group(meridiem_group) or "").lower().replace(".", "") if meridiem_group else ""
        if minute > 59 or hour > 23 or (meridiem and not 1 <= hour <= 12):
            return None
        if meridiem == "pm" and hour != 12:
            hour += 12
        elif meridiem == "am" and hour == 12:
            hour = 0
        return None, time(hour, minute), not meridiem and 1 <= hour <= 12
    return resolve


def _fixed_clock(clock: time) -> Resolver:
    return lambda _match, _ref: (None, clock)


def _rule(pattern: str, resolver: Resolver) -> tuple[re.Pattern[str], Resolver]:
    return re.compile(pattern, re.IGNORECASE), resolver


_DAY_RULES = [
    _rule(r"\b(?:the\s+)?day\s+after\s+(?:tomorrow|tmrw?)\b", _relative(2)),
    _rule(r"\b(?:tomorrow|tmrw?|tmw|tomoz)" + _PART + r"\b", _relative(1)),
    _rule(r"\b(?:tonight|tonite)\b", _relative(0, time(20))),
    _rule(r"\bthis\s+(morning|afternoon|evening)\b", _relative(0)),
    _rule(r"\b(?:today|end\s+of\s+(?:the\s+)?day|eod)\b", _relative(0)),
    _rule(r"\byesterday" + _PART + r"\b", _relative(-1)),
    _rule(r"\b(?:(next|this|on|by|until|till|coming)\s+)?(" + "|".join(_WEEKDAYS) + r")" + _PART + r"\b", _weekday),
    _rule(r"\b(?:(this|next|the)\s+)weekend\b", _weekend),
    _rule(r"\bnext\s+week\b", _next_week),
    _rule(r"\bend\s+of\s+(?:the\s+|this\s+)?week\b", _end_of_week),
    _rule(r"\bnext\s+month\b", _next_month),
    _rule(r"\bin\s+" + _AMOUNT + r"\s+(min(?:ute)?s?|hours?|hrs?|days?|weeks?)\b", _in_amount),
    _rule(r"\b" + _MONTH + r"\.?\s+(\d{1,2})" + _ORD + r"(?:,?\s+(\d{4}))?\b", _month_day(1, 2, 3)),
    _rule(r"\b(\d{1,2})" + _ORD + r"\s+(?:of\s+)?" + _MONTH + r"(?:,?\s+(\d{4}))?\b", _month_day(2, 1, 3)),
    _rule(r"\b(\d{4})-(\d{2})-(\d{2})\b", _iso_date),
    _rule(r"\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b", _day_of_month),
]

_TIME_RULES = [
    _rule(r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)(?![a-z])", _clock(1, 2, 3)),
    _rule(r"\b(\d{1,2}):(\d{2})\b", _clock(1, 2, None)),
    _rule(r"\b(\d{1,2})()\s+o'?clock\b", _clock(1, 2, None)),
    _rule(r"(?:\b(?:at|by|around|before|after|from)|@)\s*(\d{1,2})()(?![\d:/%.,]|\s*(?:min|hour|day|week|month|year|people|percent|of|%))\b",
          _clock(1, 2, None)),
    _rule(r"\b(?:noon|midday|lunchtime)\b", _fixed_clock(time(12))),
    _rule(r"\bmidnight\b", _fixed_clock(END_OF_DAY)),
    _rule(r"\b(?:in\s+the\s+)(morning|afternoon|evening)\b", lambda m, _r: (None, _PART_OF_DAY[m.group(1).lower()])),
]


def _scan(text: str, ref: datetime, rules: list[tuple[re.Pattern[str], Resolver]]) -> list[_Span]:
    spans = []
    for pattern, resolver in rules:
        for match in pattern.finditer(text):
            resolved = resolver(match, ref)
            if resolved is not None:
                spans.append(_Span(match.start(), match.end(), *resolved))
    return spans


def _non_overlapping(spans: list[_Span]) -> list[_Span]:
    kept: list[_Span] = []
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), s.start)):
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


def _inside(span: _Span, others: list[_Span]) -> bool:
    return any(o.start < span.end and span.start < o.end for o in others)


_JOINER = re.compile(r"^[\s,]*(?:at|by|around|from|@|,)?[\s,]*$", re.IGNORECASE)


def _adjacent(text: str, first: _Span, second: _Span) -> bool:
    left, right = (first, second) if first.start < second.start else (second, first)
    if right.start - left.end > 12:
        return False
    return bool(_JOINER.match(text[left.end:right.start]))


def _lone_clock(span: _Span, ref: datetime, *, evening: bool) -> _Span:
    """A time without a day is its next occurrence (allowing an hour late); a bare hour ("at 8") is read
    in waking hours (07:00-23:00), so "at 8" said at 18:00 is 20:00 and "at 5" is 17:00, and in the
    evening when the text speaks of one."""
    if span.clock is None:
        return span
    clocks = [span.clock]
    if span.ambiguous:
        later = span.clock.replace(hour=(span.clock.hour + 12) % 24)
        evening_only = evening and later.hour > 12
        clocks = [c for c in (span.clock, later) if 7 <= c.hour <= 23 and not (evening_only and c.hour < 12)]
        clocks = clocks or [span.clock]
    candidates = [
        datetime.combine(ref.date() + timedelta(days=offset), clock, tzinfo=ref.tzinfo)
        for offset in (0, 1) for clock in clocks
    ]
    moment = min(c for c in candidates if c >= ref - timedelta(hours=1))
    return _Span(span.start, span.end, moment.date(), moment.time())

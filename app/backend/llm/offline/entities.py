"""Entities a message mentions: people (participants and contacts by name), places (a small gazetteer,
and capitalised names after "in"/"at"/"to"/"from"/"near"), organisations (known names and names ending
in "Inc", "University", "Bank"...), other capitalised names that do not open a sentence, and dates and
times resolved against the message's own time (`dates.find_dates`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from backend.llm.offline.conversation import Message
from backend.llm.offline.dates import find_dates
from backend.llm.offline.textutil import STOPWORDS, sentences

PLACES = frozenset(["London", "Paris", "Berlin", "Madrid", "Rome", "Milan", "Barcelona", "Lisbon", "Amsterdam", "Brussels", "Vienna", "Prague", "Dublin", "Edinburgh", "Manchester", "Glasgow", "Zurich", "Geneva", "Munich", "Copenhagen", "Stockholm", "Oslo", "Helsinki", "Athens", "Istanbul", "Moscow", "Warsaw", "Budapest", "Tokyo", "Kyoto", "Osaka", "Seoul", "Beijing", "Shanghai", "Singapore", "Bangkok", "Delhi", "Mumbai", "Dubai", "Sydney", "Melbourne", "Auckland", "Toronto", "Montreal", "Vancouver", "Boston", "Chicago", "Seattle", "Austin", "Denver", "Atlanta", "Miami", "Dallas", "Houston", "Phoenix", "Portland", "Philadelphia", "Brooklyn", "Manhattan", "Queens", "Oakland", "Berkeley", "Nashville", "Orlando", "Detroit", "Mexico", "Cancun", "Rio", "Lima", "Bogota", "Cairo", "Nairobi", "Lagos", "Johannesburg", "Marrakech", "Lyon", "Marseille", "Nice", "Bordeaux", "Hamburg", "Cologne", "Florence", "Venice", "Naples", "Seville", "Valencia", "Porto", "Reykjavik", "Bali", "Hawaii", "Vegas", "Yosemite", "France", "Germany", "Spain", "Italy", "Portugal", "Ireland", "Scotland", "England", "Wales", "Britain", "UK", "USA", "America", "Canada", "Japan", "China", "India", "Brazil", "Australia", "Greece", "Turkey", "Switzerland", "Austria", "Belgium", "Netherlands", "Sweden", "Norway", "Denmark", "Finland", "Iceland", "Poland", "Morocco", "Egypt", "Thailand", "Vietnam", "Korea", "Argentina", "Chile", "Peru", "Colombia", "California", "Texas", "Florida", "Oregon", "Washington", "Colorado", "Arizona", "Nevada", "Utah", "Vermont", "Maine", "Alaska"]) | {"New York", "San Francisco", "Los Angeles", "Las Vegas", "New Orleans", "San Diego", "Hong Kong",
                "Cape Town", "Buenos Aires", "Mexico City", "Rio de Janeiro", "Washington DC", "New Zealand",
                "United States", "United Kingdom"}

ORGANIZATIONS = frozenset(["Google", "Apple", "Amazon", "Microsoft", "Netflix", "Spotify", "Uber", "Lyft", "Airbnb", "Facebook", "Instagram", "WhatsApp", "Twitter", "TikTok", "YouTube", "Tesla", "IKEA", "Starbucks", "McDonald's", "Costco", "Walmart", "Target", "Zara", "Nike", "Adidas", "Disney", "Verizon", "Vodafone", "PayPal", "Venmo", "Deliveroo", "DoorDash", "Ryanair", "EasyJet", "Lufthansa", "Delta", "Amtrak", "Eurostar", "NHS", "BBC", "CNN"])

_ORG_SUFFIX = re.compile(
    r"\b(?:Inc|Ltd|LLC|Corp|Company|Co|University|College|School|Academy|Hospital|Clinic|Bank|Airlines?|"
    r"Bar|Cafe|Café|Restaurant|Hotel|Museum|Gallery|Theatre|Theater|Club|Gym|Studio|Church)\b"
)
_CAPITALISED = re.compile(r"\b[A-Z][a-zA-Z'’&.-]*(?:\s+(?:of\s+|de\s+|the\s+)?[A-Z][a-zA-Z'’&.-]*)*")
_PLACE_PREPOSITION = re.compile(r"\b(?:in|at|to|from|near|into|around)\s+$")
_NOT_NAMES = frozenset(
    ["i", "i'm", "i'll", "i've", "i'd", "ok", "okay", "lol", "omg", "lmao", "haha", "yes", "no", "hey", "hi", "hello", "thanks", "thank", "sorry", "please", "god", "oh", "yeah", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "tonight", "today", "tomorrow", "mom", "dad", "mum"]
)


@dataclass(frozen=True)
class Entity:
    text: str
    type: str  # person | place | organization | date | time | other
    message_id: int | str
    value: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"text": self.text, "type": self.type, "message_id": self.message_id, "value": self.value}


def message_entities(message: Message, *, names: list[str], own_name: str) -> list[Entity]:
    """The entities of one message, in order of appearance; `names` are the people who can be meant."""
    text = message.text
    found: list[tuple[int, Entity]] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, entity: Entity) -> None:
        if any(start < e and s < end for s, e in taken):
            return
        taken.append((start, end))
        found.append((start, entity))

    for mention in find_dates(text, message.sent_at):
        add(mention.start, mention.end, Entity(mention.text, mention.kind, message.id, mention.value))
    for start, end, name in _people(text, names, own_name):
        add(start, end, Entity(text[start:end], "person", message.id, name))
    for start, end, place in _gazetteer(text):
        add(start, end, Entity(place, "place", message.id))
    sentence_starts = _sentence_starts(text)
    for match in _CAPITALISED.finditer(text):
        start, phrase = _strip_leading(match.start(), _trim(match.group(0)), sentence_starts)
        if not phrase:
            continue
        end = start + len(phrase)
        after_preposition = bool(_PLACE_PREPOSITION.search(text[:start]))
        if phrase in ORGANIZATIONS or _ORG_SUFFIX.search(phrase):
            add(start, end, Entity(phrase, "organization", message.id))
        elif after_preposition:
            add(start, end, Entity(phrase, "place", message.id))
        elif start not in sentence_starts and not phrase.isupper():
            add(start, end, Entity(phrase, "other", message.id))
    return [entity for _, entity in sorted(found, key=lambda item: item[0])]


def _people(text: str, names: list[str], own_name: str) -> list[tuple[int, int, str]]:
    """Mentions of a known person by full name, or by first name when that is unambiguous."""
    first_names: dict[str, list[str]] = {}
    for name in names:
        first = name.split()[0]
        first_names.setdefault(first, []).append(name)
    hits = []
    for name in sorted(set(names), key=len, reverse=True):
        if name == own_name or name.lower() in _NOT_NAMES or name.lower() in STOPWORDS:
            continue
        candidates = [name]
        first = name.split()[0]
        if first != name and len(first) >= 3 and len(first_names[first]) == 1 and first.lower() not in STOPWORDS:
            candidates.append(first)
        for candidate in candidates:
            for match in re.finditer(rf"(?<![\w@]){re.escape(candidate)}(?:'s|’s)?(?!\w)", text):
                hits.append((match.start(), match.start() + len(candidate), name))
    return hits


_PLACE_PATTERN = re.compile(
    r"(?<!\w)(?:" + "|".join(re.escape(p) for p in sorted(PLACES, key=len, reverse=True)) + r")(?!\w)"
)


def _gazetteer(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group(0)) for m in _PLACE_PATTERN.finditer(text)]


def _strip_leading(start: int, phrase: str, sentence_starts: set[int]) -> tuple[int, str]:
    """Drop leading words that are no name: a capital that only opens a sentence, "Hey", "I'll"..."""
    while phrase:
        first, _, rest = phrase.partition(" ")
        if first.lower() not in _NOT_NAMES and first.lower() not in STOPWORDS and start not in sentence_starts:
            return start, phrase
        if first.lower() not in _NOT_NAMES and first.lower() not in STOPWORDS and not rest:
            return start, ""  # a single capitalised word opening a sentence says nothing
        stripped = rest.lstrip()
        start += len(phrase) - len(stripped)
        phrase = stripped
    return start, ""


def _sentence_starts(text: str) -> set[int]:
    starts, position = set(), 0
    for sentence in sentences(text):
        index = text.find(sentence, position)
        if index >= 0:
            starts.add(index)
            position = index + len(sentence)
    return starts


def _trim(phrase: str) -> str:
    phrase = phrase.rstrip(".'’-&")
    return phrase.removesuffix("'s").removesuffix("’s")

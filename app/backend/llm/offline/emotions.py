"""Emotions from the NRC Emotion Lexicon (Mohammad & Turney, 2013), as shipped by the `nrclex` package.

Each word the lexicon knows adds one to each emotion it is associated with; a word within three tokens
after a negation ("not happy", "don't love") adds nothing, except after "can't stop/help/believe"
("can't stop crying" is crying); "can't wait" is anticipation and joy. Texting forms the lexicon lacks ("yay",
"haha", "ugh", "omg") and emoji come from the small map below. Scores are each emotion's share of all
emotion hits (summing to 1, or all 0 when nothing emotional was said); valence is
(positive - negative) / (positive + negative) from the lexicon's polarity tags, negation flipping it.

Cite: Saif M. Mohammad and Peter D. Turney, "Crowdsourcing a Word-Emotion Association Lexicon",
Computational Intelligence 29(3), 436-465, 2013.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

from backend.llm.offline.textutil import words

EMOTIONS = ("joy", "sadness", "anger", "fear", "surprise", "disgust", "trust", "anticipation")
NEGATIONS = frozenset(
    ["not", "no", "never", "nobody", "nothing", "neither", "nor", "hardly", "don't", "doesn't", "didn't", "isn't", "aren't", "wasn't", "weren't", "won't", "wouldn't", "can't", "cannot", "couldn't", "shouldn't", "ain't", "dont", "didnt", "isnt", "wasnt", "wont", "cant"]
)
NEGATION_SPAN = 3
MIN_HITS = 2  # words expressing an emotion before it is reported at all
MIN_SHARE = 0.2  # of all emotion words
DOMINANT_SHARE = 0.3  # the dominant emotion holds this share of the emotion words, and more than any other
UNNEGATED = frozenset({"stop", "help", "wait", "believe"})  # "can't stop laughing", "can't help crying"
CANT_WAIT = ("anticipation", "joy", "positive")
_FLIPPED = {"positive": "negative", "negative": "positive"}

# Words and emoji the lexicon shipped by nrclex lacks (texting forms, and common words such as "sad",
# "great", "miss" that its 6,468 entries leave out): token -> affects, tagged in the NRC's manner.
CHAT_AFFECTS: dict[str, tuple[str, ...]] = {
    "sad": ("sadness", "negative"), "great": ("joy", "positive"), "amazing": ("joy", "surprise", "positive"),
    "awesome": ("joy", "surprise", "positive"), "nice": ("joy", "positive"), "best": ("joy", "trust", "positive"),
    "worst": ("sadness", "anger", "negative"), "miss": ("sadness", "negative"), "scared": ("fear", "negative"),
    "sorry": ("sadness", "negative"), "thanks": ("joy", "trust", "positive"), "thank": ("joy", "trust", "positive"),
    "bored": ("negative",), "fantastic": ("joy", "surprise", "positive"), "funny": ("joy", "positive"),
    "relieved": ("joy", "positive"), "heartbroken": ("sadness", "negative"), "devastated": ("sadness", "negative"),
    "shocked": ("surprise", "fear", "negative"), "annoyed": ("anger", "negative"), "stressed": ("fear", "negative"),
    "congratulations": ("joy", "anticipation", "positive"), "celebrate": ("joy", "anticipation", "positive"),
    "party": ("joy", "anticipation", "positive"), "alone": ("sadness", "negative"),
    "yay": ("joy", "positive"), "woohoo": ("joy", "positive"), "haha": ("joy", "positive"),
    "hahaha": ("joy", "positive"), "lol": ("joy", "positive"), "lmao": ("joy", "positive"),
    "hehe": ("joy", "positive"), "omg": ("surprise",), "wow": ("surprise", "positive"),
    "ugh": ("disgust", "anger", "negative"), "meh": ("negative",), "yikes": ("fear", "negative"),
    "ew": ("disgust", "negative"), "eww": ("disgust", "negative"), "sigh": ("sadness", "negative"),
    "xoxo": ("joy", "trust", "positive"), "congrats": ("joy", "positive"), "fab": ("joy", "positive"),
    "😂": ("joy", "positive"), "🤣": ("joy", "positive"), "😄": ("joy", "positive"), "😀": ("joy", "positive"),
    "😁": ("joy", "positive"), "😊": ("joy", "positive"), "🙂": ("joy", "positive"), "🥳": ("joy", "positive"),
    "🎉": ("joy", "anticipation", "positive"), "❤": ("joy", "trust", "positive"),
    "😍": ("joy", "trust", "positive"), "🥰": ("joy", "trust", "positive"), "😘": ("joy", "trust", "positive"),
    "👍": ("trust", "positive"), "🙏": ("trust", "positive"), "😢": ("sadness", "negative"),
    "😭": ("sadness", "negative"), "😞": ("sadness", "negative"), "😔": ("sadness", "negative"),
    "☹": ("sadness", "negative"), "🙁": ("sadness", "negative"), "💔": ("sadness", "negative"),
    "😡": ("anger", "negative"), "😠": ("anger", "negative"), "🤬": ("anger", "negative"),
    "😱": ("fear", "surprise", "negative"), "😨": ("fear", "negative"), "😰": ("fear", "negative"),
    "😮": ("surprise",), "😲": ("surprise",), "🤯": ("surprise",), "🤢": ("disgust", "negative"),
    "🤮": ("disgust", "negative"), "🤞": ("anticipation", "positive"), "⏳": ("anticipation",),
}


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, list[str]]:
    from nrclex import NRCLex  # noqa: PLC0415 - loads a 6,000-word JSON file; only when emotions are asked for

    return NRCLex().__lexicon__


def affects_of(token: str) -> tuple[str, ...]:
    if token in CHAT_AFFECTS:
        return CHAT_AFFECTS[token]
    lexicon = _lexicon()
    for form in _forms(token):
        if form in CHAT_AFFECTS:
            return CHAT_AFFECTS[form]
        if form in lexicon:
            return tuple(lexicon[form])
    return ()


def _forms(token: str) -> list[str]:
    """The token, then the bases it may be inflected from: loved -> love, cried -> cry, missed -> miss."""
    forms = [token]
    if token.endswith("ied") or token.endswith("ies"):
        forms.append(token[:-3] + "y")
    if token.endswith(("ed", "es", "ly")):
        forms += [token[:-1], token[:-2]]
    elif token.endswith("ing"):
        forms += [token[:-3], token[:-3] + "e", token[:-4]]
    elif token.endswith("s") and not token.endswith("ss"):
        forms.append(token[:-1])
    return forms


def emotion_profile(texts: list[str]) -> dict[str, object]:
    """Scores of the emotions the evidence supports, and a dominant one only when it clearly leads.

    An emotion is reported (score > 0) when at least MIN_HITS words express it and it holds at least
    MIN_SHARE of the emotion words; single words that each touch several emotions (a tied profile: fear,
    joy, sadness, trust all 0.17) report nothing. The dominant emotion holds DOMINANT_SHARE of them and
    strictly more than any other (a tie has no dominant emotion)."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(_affects(text))
    total = sum(counts[e] for e in EMOTIONS)
    supported = {e for e in EMOTIONS if counts[e] >= MIN_HITS and total and counts[e] / total >= MIN_SHARE}
    scores = {e: round(counts[e] / total, 3) if e in supported else 0.0 for e in EMOTIONS}
    polar = counts["positive"] + counts["negative"]
    valence = round((counts["positive"] - counts["negative"]) / polar, 3) if polar >= MIN_HITS else 0.0
    ranked = sorted(supported, key=lambda e: (-counts[e], EMOTIONS.index(e)))
    leads = bool(ranked) and counts[ranked[0]] / total >= DOMINANT_SHARE and (
        len(ranked) == 1 or counts[ranked[0]] > counts[ranked[1]])
    return {"dominant": ranked[0] if leads else None, "valence": valence, "scores": scores}


def _affects(text: str) -> Counter[str]:
    tokens = words(text) + _emoji(text)
    found: Counter[str] = Counter()
    negated_until = -1
    for index, token in enumerate(tokens):
        if token in NEGATIONS or token.endswith("n't"):
            following = tokens[index + 1] if index + 1 < len(tokens) else ""
            if following == "wait":  # "can't wait": eager, not negative
                found.update(CANT_WAIT)
            elif following not in UNNEGATED:  # "can't stop crying" is still crying
                negated_until = index + NEGATION_SPAN
            continue
        affects = affects_of(token)
        if not affects:
            continue
        if index <= negated_until:  # "not happy": no emotion, and the polarity flips
            found.update(_FLIPPED[a] for a in affects if a in _FLIPPED)
            continue
        found.update(affects)
    return found


def _emoji(text: str) -> list[str]:
    """Emoji of the map, one token each (variation selectors dropped: "❤️" is "❤")."""
    return [ch for ch in text.replace("\ufe0f", "") if ch in CHAT_AFFECTS]

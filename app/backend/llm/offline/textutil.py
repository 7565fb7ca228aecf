"""Tokens, sentences, stop words and a background word-frequency ranking, shared by the analyzer's parts.

The background list ranks everyday English (and texting) words from most to least common. A word's
rank stands in for its document frequency in ordinary chat: the analyzer weighs a conversation's words
by how much rarer they are than that (TF-IDF against a fixed background), so "concert" outranks "today".
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

WORD = re.compile(r"[A-Za-z][A-Za-z'’]*(?:-[A-Za-z]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")

STOPWORDS = frozenset(["a", "about", "above", "after", "again", "against", "all", "almost", "near", "also", "am", "an", "and", "any", "are", "aren't", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "can't", "cannot", "could", "couldn't", "did", "didn't", "do", "does", "doesn't", "doing", "don't", "down", "during", "each", "either", "else", "even", "ever", "every", "few", "for", "from", "further", "get", "gets", "got", "had", "hadn't", "has", "hasn't", "have", "haven't", "having", "he", "he'd", "he'll", "he's", "her", "here", "here's", "hers", "herself", "him", "himself", "his", "how", "how's", "i", "i'd", "i'll", "i'm", "i've", "if", "in", "into", "is", "isn't", "it", "it's", "its", "itself", "just", "let", "let's", "like", "many", "may", "me", "might", "more", "most", "much", "must", "mustn't", "my", "myself", "neither", "no", "nor", "not", "now", "of", "off", "on", "once", "one", "only", "or", "other", "ought", "our", "ours", "ourselves", "out", "over", "own", "quite", "rather", "really", "same", "shall", "shan't", "she", "she'd", "she'll", "she's", "should", "shouldn't", "so", "some", "such", "than", "that", "that's", "the", "their", "theirs", "them", "themselves", "then", "there", "there's", "these", "they", "they'd", "they'll", "they're", "they've", "this", "those", "though", "through", "thus", "to", "too", "under", "until", "up", "upon", "us", "very", "was", "wasn't", "we", "we'd", "we'll", "we're", "we've", "were", "weren't", "what", "what's", "when", "when's", "where", "where's", "whether", "which", "while", "who", "who's", "whom", "whose", "why", "why's", "will", "with", "won't", "would", "wouldn't", "yet", "you", "you'd", "you'll", "you're", "you've", "your", "yours", "yourself", "yourselves", "ok", "okay", "yeah", "yes", "yep", "yup", "nope", "nah", "oh", "ah", "uh", "um", "hmm", "hey", "hi", "hello", "bye", "lol", "lmao", "haha", "hahaha", "hehe", "omg", "btw", "idk", "imo", "tbh", "thx", "thanks", "thank", "pls", "please", "gonna", "wanna", "gotta", "kinda", "sorta", "ya", "u", "ur", "im", "dont", "cant", "wont", "didnt", "doesnt", "isnt", "thats", "whats", "theres", "ive", "youre", "id", "ill", "sure", "cool", "nice", "great", "good", "fine", "well", "still", "back", "going", "way", "thing", "things", "something", "anything", "nothing", "everything", "stuff", "lot", "bit", "got", "get", "getting", "go", "goes", "went", "come", "came", "coming", "say", "said", "says", "tell", "told", "know", "knew", "think", "thought", "see", "saw", "seen", "want", "wanted", "need", "needed", "make", "made", "take", "took", "put", "give", "gave", "look", "looking", "feel", "felt", "let's", "maybe", "probably", "actually", "literally", "definitely", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "first", "second", "third"])

# Most common first (a frequency ranking of everyday written and texted English, stop words excluded
# since they are dropped before ranking). Rank r weighs a word by log(r + RANK_OFFSET).
BACKGROUND = ["time", "day", "today", "tomorrow", "tonight", "week", "year", "people", "man", "woman", "life", "work", "home", "night", "morning", "love", "house", "world", "school", "friend", "friends", "family", "game", "money", "hand", "days", "place", "problem", "thing", "week", "weekend", "hour", "hours", "minute", "minutes", "lunch", "dinner", "breakfast", "food", "coffee", "phone", "text", "call", "message", "guys", "guy", "kids", "kid", "mom", "dad", "happy", "sad", "fun", "new", "old", "big", "little", "long", "last", "first", "next", "right", "left", "best", "better", "bad", "late", "early", "soon", "yesterday", "later", "again", "always", "never", "sometimes", "pretty", "already", "almost", "enough", "around", "away", "together", "ready", "free", "busy", "tired", "sick", "hope", "wish", "miss", "remember", "forget", "try", "trying", "help", "start", "end", "stop", "wait", "leave", "keep", "run", "walk", "talk", "meet", "play", "watch", "read", "write", "buy", "pay", "eat", "drink", "sleep", "drive", "live", "show", "open", "close", "send", "sent", "bring", "call", "room", "car", "town", "city", "car", "bed", "office", "job", "car", "way", "name", "number", "point", "part", "side", "word", "words", "picture", "pictures", "photo", "photos", "video", "music", "song", "movie", "show", "tv", "party", "car", "store", "shop", "birthday", "christmas", "holiday", "trip", "plan", "plans", "idea", "question", "answer", "news", "story", "weather", "rain", "sun", "water", "head", "face", "eyes", "hair", "dog", "cat", "baby", "boy", "girl", "brother", "sister", "husband", "wife", "boyfriend", "girlfriend", "parents", "mum", "son", "daughter", "team", "class", "test", "week", "month", "months", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march", "april", "june", "july", "august", "september", "october", "november", "december", "ticket", "tickets", "sorry", "glad", "excited", "worried", "love", "cute", "funny", "crazy", "weird", "awesome", "amazing", "beautiful", "lovely", "fine", "fair", "sweet", "wow", "damn", "god"]

RANK_OFFSET = 20
UNKNOWN_RANK = 3000


@lru_cache(maxsize=1)
def _ranks() -> dict[str, int]:
    ranks: dict[str, int] = {}
    for index, word in enumerate(BACKGROUND):
        ranks.setdefault(word, index + 1)
    return ranks


def background_weight(word: str) -> float:
    """How unusual a word is in everyday chat: log of its rank, larger for rarer words."""
    return math.log(_ranks().get(word, UNKNOWN_RANK) + RANK_OFFSET)


def normalize(word: str) -> str:
    return word.replace("’", "'").lower()


def words(text: str) -> list[str]:
    """Lowercased word tokens (apostrophes kept: "i'll", "don't")."""
    return [normalize(m.group(0)) for m in WORD.finditer(text)]


def content_words(text: str) -> list[str]:
    """Tokens that can carry a topic: no stop words, no one- or two-letter words, no laughter."""
    return [w for w in words(text) if len(w) > 2 and w not in STOPWORDS and not is_laughter_word(w)]


def sentences(text: str) -> list[str]:
    """A message split into sentences (at . ! ? … and line breaks), each stripped, none empty."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s and s.strip()]


_LAUGH_WORD = re.compile(r"^(?:(?:ha|ah){2,}h?|a?(?:ha)+|(?:he){2,}|lo+l+|lmf?a+o+|rofl|kek|jaja(?:ja)*)$")


def is_laughter_word(word: str) -> bool:
    return bool(_LAUGH_WORD.match(word.lower())) and word.lower() not in {"ha", "ah", "aha"}


def stem(word: str) -> str:
    """A light suffix stripper so that "tickets"/"ticket" and "planning"/"plan" count together."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            base = word[: -len(suffix)] + keep
            if suffix in ("ing", "ed") and len(base) > 3 and base[-1] == base[-2]:
                base = base[:-1]  # planning -> plan
            return base
    return word

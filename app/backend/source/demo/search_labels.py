"""A labelled set for search ranking, derived from the demo's planted topics: for each topic present in a
source, its title, its keywords, and plain-language questions a person would type that mostly do not share
the topic's words (paraphrases). The relevant messages of each query are the topic's planted messages."""

from __future__ import annotations

from typing import Any

PARAPHRASES: dict[str, tuple[str, ...]] = {
    "lisbon_trip": ("where should we go on holiday in Portugal", "when are we flying out for the trip",
                    "what pastry does she want to eat every day"),
    "surprise_party": ("when is the party for Dana", "who ordered the cake", "what time should guests show up"),
    "kitchen_renovation": ("how much will redoing the kitchen cost", "which builder gave us a price",
                           "what counters are we getting"),
    "marathon_training": ("how far are we running on Sunday", "which race did I sign up for",
                          "my shins hurt after running"),
    "puppy_adoption": ("what is the new dog called", "when are they getting a dog from the rescue",
                       "what breed is the puppy"),
    "job_offer": ("did I accept the new job", "how much does the new position pay", "are we moving west for work"),
    "wedding_planning": ("where is the wedding going to be", "how many people fit at the vineyard",
                         "when is the food deposit due"),
    "car_accident": ("what happened to the car", "someone hit me at a red light", "when does the adjuster come"),
    "book_club": ("what book are we reading", "where are we meeting for books on Thursday",
                  "who is the best character in the novel"),
    "moving_day": ("when is moving day", "how many boxes are packed", "does the new place have a dishwasher"),
}


def labelled_queries(topics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Queries of the topics in a source's manifest (key, title, keywords, message_guids): each as
    {q, kind ("title", "keywords", "keyword", "paraphrase"), topic, guids}."""
    out = []
    for topic in topics:
        guids = list(topic["message_guids"])
        base = {"topic": topic["key"], "guids": guids}
        out.append({"q": topic["title"], "kind": "title", **base})
        out.append({"q": " ".join(topic["keywords"]), "kind": "keywords", **base})
        out += [{"q": keyword, "kind": "keyword", **base} for keyword in topic["keywords"]]
        out += [{"q": q, "kind": "paraphrase", **base} for q in PARAPHRASES.get(topic["key"], ())]
    return out

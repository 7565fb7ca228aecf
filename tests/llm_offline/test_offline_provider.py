"""The offline analyzer, called the way the gateway calls any model: litellm.completion("chatstats/offline")
on the rendered prompts of app/eve/prompts/, its replies checked against each prompt's schema."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date, datetime

import pytest

from backend.llm.offline import MODEL, register_offline_provider
from backend.llm.offline.provider import OfflineProvider
from backend.llm.providers import CustomLLM, litellm, register_provider, registered_providers, unregister_provider
from backend.prompts import load_prompt

ME, SAM, JO = "Alex Kim", "Sam Rivera", "Jo Park"


def msg(mid: int, sender: str, at: str, text: str, *reactions: tuple[str, str]) -> dict:
    return {
        "id": mid, "sender": sender, "is_from_me": sender == ME, "sent_at": f"2024-05-{at}+02:00", "text": text,
        "reactions": [{"type": kind, "sender": who} for kind, who in reactions],
    }


def conversation(*messages: dict, people: tuple[str, ...] = (ME, SAM), contacts: tuple[str, ...] = ()) -> dict:
    return {
        "participants": [{"name": p, "is_me": p == ME} for p in people],
        "contacts": list(contacts),
        "messages": list(messages),
    }


CONCERT = conversation(
    msg(1, SAM, "03T18:00:00", "The concert in Berlin was incredible. The band played for three hours!"),
    msg(2, ME, "03T18:01:00", "So jealous. Did Jordan Lee go with you to the concert?"),
    msg(3, SAM, "03T18:02:00", "Yes, Jordan loved the band. The drummer fell off the stage", ("laugh", ME)),
    msg(4, ME, "03T18:03:00", "no way, I need the concert photos"),
    msg(5, SAM, "03T18:04:00", "I'll send you the photos tomorrow."),
    msg(6, ME, "03T18:05:00", "Thanks! The band is playing in Paris next month."),
    contacts=("Jordan Lee",),
)


@pytest.fixture(autouse=True)
def offline_provider():
    register_offline_provider()
    yield


def complete(prompt_id: str, **variables) -> dict:
    prompt = load_prompt(prompt_id)
    response = litellm.completion(model="chatstats/offline", messages=prompt.render(**variables))
    assert response.model == MODEL
    result = json.loads(response.choices[0].message.content)
    assert [e.message for e in prompt.validator().iter_errors(result)] == []
    assert result["model"] == MODEL
    return result


def participant(result: dict, name: str) -> dict:
    return next(p for p in result["participants"] if p["name"] == name)


def test_a_promise_becomes_a_commitment_due_the_next_day():
    result = complete("commitment-extraction-v1", conversation=CONCERT)

    assert len(result["commitments"]) == 1
    commitment = result["commitments"][0]
    assert commitment["message_id"] == 5
    assert (commitment["committed_by"], commitment["is_from_me"], commitment["committed_to"]) == (SAM, False, [ME])
    assert commitment["text"] == "send you the photos tomorrow"
    assert datetime.fromisoformat(commitment["due_at"]).date() == date(2024, 5, 4)
    assert commitment["due_text"] == "tomorrow"


def test_commitment_phrasings_and_non_commitments():
    convo = conversation(
        msg(1, SAM, "06T09:00:00", "I can pick you up on Friday at 5"),         # offer with a when: Fri 10th 17:00
        msg(2, ME, "06T09:01:00", "I can swim"),                                 # ability, no when
        msg(3, SAM, "06T09:02:00", "I'll never forget that night"),              # a feeling
        msg(4, ME, "06T09:03:00", "Can you bring the charger tonight?"),
        msg(5, SAM, "06T09:04:00", "Will do"),                                   # accepts the request
        msg(6, ME, "06T09:05:00", "I can't make it next week"),                  # refusal
        msg(7, ME, "06T09:06:00", "Let's get dinner tomorrow at 8"),             # joint plan
    )
    found = {c["message_id"]: c for c in complete("commitment-extraction-v1", conversation=convo)["commitments"]}

    assert sorted(found) == [1, 5, 7]
    assert found[1]["due_at"] == "2024-05-10T17:00:00+02:00"
    assert (found[5]["committed_by"], found[5]["text"]) == (SAM, "bring the charger tonight")
    assert found[5]["due_at"] == "2024-05-06T20:00:00+02:00"
    assert (found[7]["committed_by"], found[7]["due_at"]) == (ME, "2024-05-07T20:00:00+02:00")


def test_reconciliation_closes_a_kept_promise_and_finds_new_ones():
    previous = [
        {"id": 7, "message_id": 5, "committed_by": SAM, "committed_to": [ME], "text": "send you the photos tomorrow",
         "due_at": "2024-05-04T23:59:00+02:00", "status": "open"},
        {"id": 8, "message_id": 9, "committed_by": ME, "committed_to": [SAM], "text": "call the venue",
         "due_at": None, "status": "open"},
    ]
    new_messages = conversation(
        msg(20, SAM, "04T10:00:00", "Sent you the photos!"),
        msg(21, ME, "04T10:05:00", "They're great. I will book the tickets for Paris on Monday."),
    )
    result = complete("commitment-reconciliation-v1", conversation=new_messages, previous_commitments=previous)

    assert result["updates"] == [
        {"id": 7, "status": "done", "due_at": "2024-05-04T23:59:00+02:00", "evidence_message_id": 20},
        {"id": 8, "status": "open", "due_at": None, "evidence_message_id": None},
    ]
    assert [(c["message_id"], c["text"], c["due_at"]) for c in result["new_commitments"]] == [
        (21, "book the tickets for Paris on Monday", "2024-05-06T23:59:00+02:00"),
    ]


def test_reconciliation_cancels_and_reschedules():
    previous = [
        {"id": 1, "message_id": 2, "committed_by": SAM, "committed_to": [ME], "text": "pick you up on Friday at 5",
         "due_at": "2024-05-10T17:00:00+02:00", "status": "open"},
        {"id": 2, "message_id": 3, "committed_by": ME, "committed_to": [SAM], "text": "bring the board games",
         "due_at": "2024-05-10T23:59:00+02:00", "status": "open"},
    ]
    new_messages = conversation(
        msg(30, SAM, "08T09:00:00", "Can we move the pick up to Saturday at 10 instead?"),
        msg(31, SAM, "08T09:01:00", "And no need to bring the board games, we have some"),
    )
    result = complete("commitment-reconciliation-v1", conversation=new_messages, previous_commitments=previous)

    assert result["updates"] == [
        {"id": 1, "status": "open", "due_at": "2024-05-11T10:00:00+02:00", "evidence_message_id": 30},
        {"id": 2, "status": "cancelled", "due_at": "2024-05-10T23:59:00+02:00", "evidence_message_id": 31},
    ]
    assert result["new_commitments"] == []


def test_a_laugh_tapback_and_a_laughing_reply_make_humour():
    result = complete("convo-all-v1", conversation=CONCERT)

    humour = participant(result, SAM)["humour"]
    assert [(h["message_id"], h["evidence"], h["laughed_by"]) for h in humour] == [(3, ["laugh_reaction"], [ME])]
    assert participant(result, ME)["humour"] == []

    replied = conversation(
        msg(1, ME, "03T10:00:00", "My cat just ate my homework"), msg(2, SAM, "03T10:01:00", "hahaha 😂"),
    )
    assert participant(complete("convo-all-v1", conversation=replied), ME)["humour"] == [
        {"message_id": 1, "text": "My cat just ate my homework", "evidence": ["laughing_reply"], "laughed_by": [SAM]},
    ]


def test_named_contacts_places_and_dates_are_entities():
    result = complete("convo-all-v1", conversation=CONCERT)

    mine = {(e["text"], e["type"]): e for e in participant(result, ME)["entities"]}
    assert mine[("Jordan Lee", "person")]["message_id"] == 2
    assert mine[("Jordan Lee", "person")]["value"] == "Jordan Lee"
    assert ("Paris", "place") in mine
    assert mine[("next month", "date")]["value"] == "2024-06-01"
    sams = {(e["text"], e["type"]): e for e in participant(result, SAM)["entities"]}
    assert sams[("Jordan", "person")]["value"] == "Jordan Lee"  # a first name resolves to the contact
    assert ("Berlin", "place") in sams
    assert sams[("tomorrow", "date")]["value"] == "2024-05-04"


def test_summary_is_made_of_the_conversations_sentences():
    result = complete("convo-all-v1", conversation=CONCERT)

    texts = {m["id"]: m["text"] for m in CONCERT["messages"]}
    assert result["highlights"], result
    for highlight in result["highlights"]:
        assert texts[highlight["message_id"]] == highlight["text"]
    quoted = re.findall(r'(?:^| )([A-Z][\w ]+): "([^"]+)"', result["summary"])
    assert 1 <= len(quoted) <= 3
    senders = {m["text"]: m["sender"] for m in CONCERT["messages"]}
    for sender, sentence in quoted:  # each is a sentence of a message, attributed to its sender
        assert [s for t, s in senders.items() if sentence in t] == [sender]
    assert "".join(f'{s}: "{q}" ' for s, q in quoted).strip() == result["summary"]
    assert "band" in result["topics"] and any("concert" in t.split() for t in result["topics"])
    assert "concert photos" in result["topics"]  # a phrase said once, of two uncommon words, is a topic


def test_joyful_and_sad_conversations_have_different_emotions():
    joyful = conversation(
        msg(1, SAM, "03T12:00:00", "We got engaged!! I am so happy, best day of my life 🎉"),
        msg(2, ME, "03T12:01:00", "Congratulations!! I love this, what wonderful news ❤️"),
    )
    sad = conversation(
        msg(1, SAM, "03T12:00:00", "Grandpa died last night. I can't stop crying."),
        msg(2, ME, "03T12:01:00", "I am so sorry. That is awful, I know how much you will miss him 😢"),
    )
    happy_sam = participant(complete("convo-all-v1", conversation=joyful), SAM)["emotions"]
    sad_sam = participant(complete("convo-all-v1", conversation=sad), SAM)["emotions"]

    assert happy_sam["dominant"] == "joy" and sad_sam["dominant"] == "sadness"
    assert happy_sam["valence"] > 0 > sad_sam["valence"]
    assert happy_sam["scores"]["joy"] > sad_sam["scores"]["joy"]
    assert sad_sam["scores"]["sadness"] > happy_sam["scores"]["sadness"]


def test_an_empty_conversation_gives_an_empty_valid_result():
    result = complete("convo-all-v1", conversation=conversation())
    assert (result["summary"], result["highlights"], result["topics"]) == ("", [], [])
    assert participant(result, SAM) == {
        "name": SAM, "is_me": False, "entities": [], "topics": [], "humour": [],
        "emotions": {"dominant": None, "valence": 0.0, "scores": dict.fromkeys(
            ["joy", "sadness", "anger", "fear", "surprise", "disgust", "trust", "anticipation"], 0.0)},
    }
    assert complete("commitment-extraction-v1", conversation=conversation()) == {"model": MODEL, "commitments": []}


def test_eve_answers_from_the_sources_with_citations():
    sources = [
        {"id": "S1", "kind": "message", "title": None, "text": "Lunch was fine. Nothing else happened.", "sender": SAM,
         "sent_at": "2024-05-02T12:00:00+02:00", "conversation_id": 1, "message_id": 10},
        {"id": "S2", "kind": "message", "title": None, "text": "The concert tickets are for the 12th of May.",
         "sender": SAM, "sent_at": "2024-05-03T18:00:00+02:00", "conversation_id": 2, "message_id": 11},
    ]
    question = "When are the concert tickets for?"
    result = complete("eve-answer-v1", user_name=ME, question=question, history=[], sources=sources)
    assert result["answered"] is True
    assert result["citations"] == [{"source_id": "S2", "quote": "The concert tickets are for the 12th of May."}]
    assert "[S2]" in result["answer"] and "[S1]" not in result["answer"]

    nothing = complete("eve-answer-v1", user_name=ME, question="Where is the wedding?", history=[], sources=sources)
    assert (nothing["answered"], nothing["citations"]) == (False, [])


def test_streaming_yields_chunks_of_the_same_result():
    messages = load_prompt("convo-all-v1").render(conversation=CONCERT)
    whole = litellm.completion(model="chatstats/offline", messages=messages).choices[0].message.content
    chunks = list(litellm.completion(model="chatstats/offline", messages=messages, stream=True))

    assert len(chunks) > 2
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_async_completion():
    messages = load_prompt("commitment-extraction-v1").render(conversation=CONCERT)
    response = asyncio.run(litellm.acompletion(model="chatstats/offline", messages=messages))
    assert json.loads(response.choices[0].message.content)["commitments"][0]["message_id"] == 5


def test_a_request_that_is_no_chatstats_prompt_is_refused():
    with pytest.raises(litellm.BadRequestError, match="prompt"):
        litellm.completion(model="chatstats/offline", messages=[{"role": "user", "content": "hello"}])


def test_registration_is_idempotent_and_keeps_other_providers():
    class Other(CustomLLM):
        pass

    register_provider("someone-else", Other())
    try:
        first = register_offline_provider()
        assert register_offline_provider() is first
        providers = registered_providers()
        assert isinstance(providers["chatstats"], OfflineProvider) and "someone-else" in providers
        assert sum(1 for item in litellm.custom_provider_map if item["provider"] == "chatstats") == 1
        response = litellm.completion(model=MODEL, messages=load_prompt("convo-all-v1").render(conversation=CONCERT))
        assert response.usage.total_tokens > 0 and litellm.completion_cost(completion_response=response) == 0
    finally:
        unregister_provider("someone-else")


KEY_SENTENCES = (
    "We should book the flight to Lisbon and the hotel near the old town for the conference.",
    "I booked the flight for Friday morning and the hotel for three nights, the conference starts Saturday.",
)
TRIP = conversation(
    msg(1, SAM, "03T09:00:00", "Morning! Are you up?"),
    msg(2, ME, "03T09:01:00", "yes, coffee first"),
    msg(3, SAM, "03T09:02:00", "The conference is in Lisbon this year."),
    msg(4, ME, "03T09:03:00", KEY_SENTENCES[0]),
    msg(5, SAM, "03T09:04:00", "ok sure"),
    msg(6, SAM, "03T09:05:00", "Is the hotel expensive?"),
    msg(7, ME, "03T09:06:00", "Not too bad. My cat knocked over the plant again."),
    msg(8, SAM, "03T09:07:00", "haha"),
    msg(9, SAM, "03T09:20:00", "Which flight did you pick?"),
    msg(10, ME, "03T09:21:00", KEY_SENTENCES[1]),
    msg(11, SAM, "03T09:22:00", "Great, the old town is lovely."),
    msg(12, ME, "03T09:23:00", "Did you watch the game last night?"),
    msg(13, SAM, "03T09:24:00", "No, fell asleep."),
)


def test_the_extractive_summary_of_a_planted_conversation_quotes_its_key_sentences():
    result = complete("convo-all-v1", conversation=TRIP)
    quoted = re.findall(r'([A-Z][\w ]+): "([^"]+)"', result["summary"])
    assert len(quoted) >= 2  # several sentences, not one quoted message
    for key in KEY_SENTENCES:
        assert (ME, key) in quoted, result["summary"]
    assert any(" " in topic for topic in result["topics"])  # topics include phrases
    assert {"lisbon", "old town"} & {t.lower() for t in result["topics"]}


def test_a_repeated_promise_and_a_repeated_joke_are_reported_once():
    chat = conversation(
        msg(1, SAM, "03T18:00:00", "I'll send you the photos tomorrow.", ("laugh", ME)),
        msg(2, ME, "03T18:01:00", "ok"),
        msg(3, SAM, "03T18:02:00", "I'll send you the photos tomorrow.", ("laugh", ME)),
    )
    extracted = complete("commitment-extraction-v1", conversation=chat)["commitments"]
    assert [c["message_id"] for c in extracted] == [1]
    humour = participant(complete("convo-all-v1", conversation=chat), SAM)["humour"]
    assert [h["message_id"] for h in humour] == [1] and humour[0]["laughed_by"] == [ME]


def test_emotions_without_clear_evidence_have_no_dominant_feeling_and_no_tied_profile():
    flat = conversation(msg(1, SAM, "03T12:00:00", "The doctor said the results come on Friday."))
    emotions = participant(complete("convo-all-v1", conversation=flat), SAM)["emotions"]
    assert emotions["dominant"] is None
    scores = [s for s in emotions["scores"].values() if s > 0]
    assert len(scores) == len(set(scores))  # no two emotions tied on the evidence of the same few words

"""The offline router's reading of every question form, and of the periods it names."""

from __future__ import annotations

from datetime import date

import pytest

from backend.assistant.intents import ALL_TIME, Span, parse

TODAY = date(2026, 12, 3)  # a Thursday


@pytest.mark.parametrize(("question", "kind", "person", "topic"), [
    ("Who do I text the most?", "top", None, None),
    ("who did i message the most", "top", None, None),
    ("Who are my top contacts?", "top", None, None),
    ("Who texts me the most?", "top", None, None),
    ("How many messages did I exchange with Alex Nguyen?", "count", "Alex Nguyen", None),
    ("How many texts have I sent to Sam?", "count", "Sam", None),
    ("How many messages between me and Wei Young?", "count", "Wei Young", None),
    ("How often do I text Alex?", "count", "Alex", None),
    ("When did I last talk to Alex?", "last", "Alex", None),
    ("When did I last text Sam Lee?", "last", "Sam Lee", None),
    ("When was the last time I spoke with Wei?", "last", "Wei", None),
    ("Who starts our conversations with Alex?", "starts", "Alex", None),
    ("Who usually texts first, me or Sam?", "starts", "Sam", None),
    ("Who starts our conversations?", "starts", None, None),
    ("What did Alex say about dinner?", "said", "Alex", "dinner"),
    ("What has Wei Young said about the new job?", "said", "Wei Young", "the new job"),
    ("What did I promise?", "promises_mine", None, None),
    ("What promises did I make?", "promises_mine", None, None),
    ("What was promised to me?", "promises_theirs", None, None),
    ("Who owes me?", "promises_theirs", None, None),
    ("Summarise my chat with Alex this week", "summary", "Alex", None),
    ("Summarize my conversations with Wei Young", "summary", "Wei Young", None),
    ("Give me a summary of my messages with Sam", "summary", "Sam", None),
])
def test_every_question_form_is_recognised_with_its_person_and_topic(question, kind, person, topic):
    intent = parse(question, today=TODAY)
    assert intent is not None and (intent.kind, intent.person, intent.topic) == (kind, person, topic)


@pytest.mark.parametrize(("question", "span"), [
    ("Who do I text the most?", ALL_TIME),
    ("Who do I text the most this month?", Span("2026-12-01", "2026-12-31", "this month")),
    ("Who did I text the most last month?", Span("2026-11-01", "2026-11-30", "last month")),
    ("Who do I text the most this year?", Span("2026-01-01", "2026-12-31", "this year", "this_year")),
    ("Who did I text the most last year?", Span("2025-01-01", "2025-12-31", "last year", "last_year")),
    ("Who did I text the most in 2024?", Span("2024-01-01", "2024-12-31", "in 2024")),
    ("How many messages did I exchange with Sam in March 2025?", Span("2025-03-01", "2025-03-31", "in March 2025")),
    ("How many messages did I exchange with Sam in the last 30 days?",
     Span("2026-11-04", "2026-12-03", "in the last 30 days")),
    ("How many messages did I exchange with Sam this week?", Span("2026-11-30", "2026-12-06", "this week")),
    ("How many messages did I exchange with Sam today?", Span("2026-12-03", "2026-12-03", "today")),
    ("Summarise my chat with Alex", Span("2026-11-30", "2026-12-06", "this week")),  # a summary's default
])
def test_periods_are_read_as_local_days_and_cut_from_the_person(question, span):
    intent = parse(question, today=TODAY)
    assert intent is not None and intent.span == span
    assert intent.person in (None, "Sam", "Alex")


def test_a_year_in_review_takes_the_year_named_or_this_one():
    assert parse("My year in review 2025", today=TODAY).year == 2025
    assert parse("How was my year?", today=TODAY).year == 2026
    assert parse("Review of my year last year", today=TODAY).year == 2025


@pytest.mark.parametrize("question", ["What is the meaning of life?", "Where is the lantern festival?",
                                      "How many messages did I exchange?", "Tell me a joke"])
def test_other_questions_are_left_to_a_model(question):
    assert parse(question, today=TODAY) is None

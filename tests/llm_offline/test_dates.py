"""Dates and times in chat, resolved against the moment the message was sent (Friday 3 May 2024, 18:02, +02:00)."""

from __future__ import annotations

from datetime import datetime

import pytest

from backend.llm.offline.dates import find_dates

SENT = datetime.fromisoformat("2024-05-03T18:02:00+02:00")  # a Friday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'll send you the photos tomorrow", [("tomorrow", "2024-05-04")]),
        ("see you tomorrow at 7pm!", [("tomorrow at 7pm", "2024-05-04T19:00:00+02:00")]),
        ("let's meet on Friday at 5", [("on Friday at 5", "2024-05-10T17:00:00+02:00")]),
        ("Monday at 10", [("Monday at 10", "2024-05-06T10:00:00+02:00")]),
        ("dinner tomorrow at 8", [("tomorrow at 8", "2024-05-04T20:00:00+02:00")]),
        ("at 8", [("at 8", "2024-05-03T20:00:00+02:00")]),
        ("by 9am", [("9am", "2024-05-04T09:00:00+02:00")]),
        ("tonight", [("tonight", "2024-05-03T20:00:00+02:00")]),
        ("tmrw morning", [("tmrw morning", "2024-05-04T09:00:00+02:00")]),
        ("in 2 hours", [("in 2 hours", "2024-05-03T20:02:00+02:00")]),
        ("in a couple of days", [("in a couple of days", "2024-05-05")]),
        ("next week", [("next week", "2024-05-06")]),
        ("this weekend", [("this weekend", "2024-05-04")]),
        ("May 12th works, or the 20th", [("May 12th", "2024-05-12"), ("the 20th", "2024-05-20")]),
        ("3rd of January", [("3rd of January", "2025-01-03")]),
        ("2024-06-01", [("2024-06-01", "2024-06-01")]),
        ("Meet at the Louvre", []),
        ("call me at 555-1234", []),
        ("we were 5 people", []),
    ],
)
def test_find_dates(text: str, expected: list[tuple[str, str]]):
    assert [(m.text, m.value) for m in find_dates(text, SENT)] == expected


def test_a_day_without_a_time_is_due_at_its_end_and_keeps_the_offset():
    (mention,) = find_dates("on Sunday", SENT)
    assert (mention.kind, mention.due_at.isoformat()) == ("date", "2024-05-05T23:59:00+02:00")
    (timed,) = find_dates("Sunday at noon", SENT)
    assert (timed.kind, timed.due_at.isoformat()) == ("time", "2024-05-05T12:00:00+02:00")


def test_next_weekday_is_in_the_following_week_when_this_weeks_is_still_ahead():
    tuesday = datetime.fromisoformat("2024-05-07T09:00:00+00:00")
    assert [m.value for m in find_dates("Friday", tuesday)] == ["2024-05-10"]
    assert [m.value for m in find_dates("next Friday", tuesday)] == ["2024-05-17"]

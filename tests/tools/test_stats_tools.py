"""The statistics tools (over the insights service) against counts made here with SQL."""

from __future__ import annotations

from datetime import date, datetime

from backend.tools.registry import call_tool
from tests.tools.helpers import VISIBLE, db, direct_people, engine


def _local_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day).astimezone().timestamp() * 1000)


def test_top_people_of_all_time_match_the_one_to_one_counts(imported):
    people = direct_people()
    result = call_tool(engine(), "top_people", {"period": "all", "limit": 3})
    assert [(p["contact_id"], p["messages"], p["sent"]) for p in result["people"]] == \
        [(p["contact_id"], p["messages"], p["sent"]) for p in people[:3]]
    assert result["period"]["label"] == "all time"
    top = result["people"][0]
    assert top["received"] == top["messages"] - top["sent"]
    cite = result["citations"][0]
    with db() as conn:
        latest = conn.execute(f"SELECT m.id FROM messages m WHERE m.chat_id = ? AND {VISIBLE} "
                              "ORDER BY m.sent_at DESC, m.id DESC LIMIT 1", (people[0]["chat_id"],)).fetchone()[0]
    assert cite["message_id"] == latest


def test_message_stats_of_a_person_in_a_year_and_in_all(imported):
    person = direct_people()[0]
    year = datetime.fromtimestamp(person["last_at"] / 1000).astimezone().year
    with db() as conn:
        rows = conn.execute(f"SELECT m.is_from_me, m.sent_at FROM messages m WHERE m.chat_id = ? AND {VISIBLE} "
                            "AND m.sent_at >= ? AND m.sent_at < ?",
                            (person["chat_id"], _local_ms(date(year, 1, 1)), _local_ms(date(year + 1, 1, 1)))
                            ).fetchall()
    stats = call_tool(engine(), "message_stats", {"person": person["name"], "since": f"{year}-01-01",
                                                  "until": f"{year}-12-31"})
    assert (stats["messages"], stats["sent"]) == (len(rows), sum(r[0] for r in rows))
    assert stats["last_message_at"] == max(r[1] for r in rows)
    whole = call_tool(engine(), "message_stats", {"person": person["name"]})
    assert (whole["contact_id"], whole["messages"]) == (person["contact_id"], person["messages"])
    assert whole["started_by_me"] + whole["started_by_them"] > 0
    by_chat = call_tool(engine(), "message_stats", {"chat": person["chat_id"]})
    assert by_chat["messages"] == person["messages"] and by_chat["chat_id"] == person["chat_id"]


def test_year_review_counts_every_visible_message_of_the_year(imported):
    with db() as conn:
        latest = conn.execute("SELECT max(sent_at) FROM messages").fetchone()[0]
        year = datetime.fromtimestamp(latest / 1000).astimezone().year
        total, sent = conn.execute(f"""SELECT count(*), sum(m.is_from_me) FROM messages m WHERE {VISIBLE}
                                       AND m.sent_at >= ? AND m.sent_at < ?""",
                                   (_local_ms(date(year, 1, 1)), _local_ms(date(year + 1, 1, 1)))).fetchone()
    review = call_tool(engine(), "year_review", {"year": year})
    assert (review["year"], review["messages"], review["sent"]) == (year, total, sent)
    assert review["top_people"] and review["top_people"][0]["messages"] >= review["top_people"][-1]["messages"]

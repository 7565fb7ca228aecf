"""Eve offline: every question form answered from the tools with the numbers SQL gives here, with citations;
any other question gets matching messages and the line saying no model is configured."""

from __future__ import annotations

import re
from datetime import date, datetime

from backend.assistant.offline import NO_MODEL, answer
from tests.assistant.conftest import sse_events
from tests.insights.helpers import PROMISES, analysed  # noqa: F401 - the fixture with promises planted
from tests.tools.helpers import VISIBLE, db, engine, unique_first_name_person


def _local_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day).astimezone().timestamp() * 1000)


def _day(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000).astimezone()
    return f"{moment.day} {moment:%B %Y}"


def _rows(chat_id: int, since: int | None = None, until: int | None = None) -> list:
    with db() as conn:
        return conn.execute(f"""SELECT m.id, m.sent_at, m.is_from_me FROM messages m WHERE m.chat_id = ? AND {VISIBLE}
                                AND (? IS NULL OR m.sent_at >= ?) AND (? IS NULL OR m.sent_at < ?)
                                ORDER BY m.sent_at, m.id""", (chat_id, since, since, until, until)).fetchall()


def _cited(text: str) -> list[int]:
    return [int(i) for i in re.findall(r"\[M(\d+)\]", text)]


def test_counts_last_contact_and_starts_for_a_person(imported):
    person = unique_first_name_person()
    first, rows = person["name"].split()[0], _rows(person["chat_id"])
    year = datetime.fromtimestamp(rows[-1]["sent_at"] / 1000).astimezone().year
    in_year = _rows(person["chat_id"], _local_ms(date(year, 1, 1)), _local_ms(date(year + 1, 1, 1)))

    counted = answer(engine(), f"How many messages did I exchange with {first} in {year}?")
    sent = sum(r["is_from_me"] for r in in_year)
    assert counted.text.startswith(f"You exchanged {len(in_year):,} messages with {person['name']} in {year}: "
                                   f"{sent:,} sent and {len(in_year) - sent:,} received.")
    assert _cited(counted.text) == [in_year[-1]["id"]] == [c["message_id"] for c in counted.citations]

    last = answer(engine(), f"When did I last talk to {first.lower()}?")
    assert last.text.startswith(f"You last talked to {person['name']} on {_day(rows[-1]['sent_at'])}")
    assert _cited(last.text) == [rows[-1]["id"]]

    with db() as conn:
        me, total = conn.execute(f"""
            SELECT sum(f.is_from_me), count(*) FROM conversations v
            JOIN messages f ON f.id = (SELECT m.id FROM messages m WHERE m.conversation_id = v.id AND {VISIBLE}
                                       ORDER BY m.sent_at, m.id LIMIT 1)
            WHERE v.chat_id = ?""", (person["chat_id"],)).fetchone()
    starts = answer(engine(), f"Who starts our conversations with {first}?")
    assert f"of your {total:,} conversation" in starts.text and f"you started {me:,} (" in starts.text
    assert f"{person['name']} started {total - me:,}." in starts.text


def test_who_do_i_text_the_most_over_all_time_and_a_year(imported):
    with db() as conn:
        ranked = conn.execute(f"""
            SELECT c.display_name AS name, ch.id AS chat_id, count(m.id) AS n FROM chat_participants p
            JOIN chats ch ON ch.id = p.chat_id AND ch.is_group = 0 JOIN contacts c ON c.id = p.contact_id
            JOIN messages m ON m.chat_id = ch.id AND {VISIBLE} GROUP BY c.id ORDER BY n DESC, c.id""").fetchall()
    top = answer(engine(), "Who do I text the most?")
    assert top.kind == "top"
    assert top.text.startswith(f"You text {ranked[0]['name']} the most of all time: {ranked[0]['n']:,} messages")
    assert f"Next come {ranked[1]['name']} ({ranked[1]['n']:,})" in top.text
    assert _cited(top.text) == [_rows(ranked[0]["chat_id"])[-1]["id"]]
    assert top.citations[0]["quote"] is not None and top.citations[0]["conversation_id"] is not None


def test_what_did_x_say_about_y_cites_only_their_matching_messages(imported):
    person = unique_first_name_person()
    with db() as conn:
        text = conn.execute(f"""SELECT lower(m.text) FROM messages m WHERE m.sender_contact_id = ? AND {VISIBLE}
                                AND m.text GLOB '*[a-z][a-z][a-z][a-z][a-z][a-z]*' ORDER BY m.id""",
                            (person["contact_id"],)).fetchone()[0]
        word = max(re.findall(r"[a-z]+", text), key=len)
        theirs = {r[0] for r in conn.execute(f"""
            SELECT m.id FROM messages_fts f JOIN messages m ON m.id = f.rowid
            WHERE messages_fts MATCH ? AND m.sender_contact_id = ? AND m.is_from_me = 0 AND {VISIBLE}""",
            (f'"{word}"', person["contact_id"]))}
    said = answer(engine(), f"What did {person['name'].split()[0]} say about {word}?")
    assert said.text.startswith(f"{person['name']} wrote about \u201c{word}\u201d in {len(theirs):,} message")
    assert _cited(said.text) and set(_cited(said.text)) <= theirs


def test_summary_and_year_in_review(imported):
    person = unique_first_name_person()
    rows = _rows(person["chat_id"])
    year = datetime.fromtimestamp(rows[-1]["sent_at"] / 1000).astimezone().year
    lo, hi = _local_ms(date(year, 1, 1)), _local_ms(date(year + 1, 1, 1))
    in_year = _rows(person["chat_id"], lo, hi)
    with db() as conn:
        conversations = conn.execute("""SELECT count(*) FROM conversations WHERE chat_id = ? AND last_message_at >= ?
                                        AND started_at < ?""", (person["chat_id"], lo, hi)).fetchone()[0]
        total = conn.execute(f"SELECT count(*) FROM messages m WHERE {VISIBLE} AND m.sent_at >= ? AND m.sent_at < ?",
                             (lo, hi)).fetchone()[0]
    summary = answer(engine(), f"Summarise my chat with {person['name']} in {year}")
    assert summary.text.startswith(f"In {year} you and {person['name']} exchanged {len(in_year):,} messages in "
                                   f"{conversations:,} conversation")
    assert summary.citations and all(c["message_id"] in {r["id"] for r in in_year} or c["message_id"]
                                     for c in summary.citations)
    review = answer(engine(), f"My year in review {year}")
    assert review.text.startswith(f"In {year} you exchanged {total:,} messages")


def test_promises_made_and_received(analysed):
    with db() as conn:
        mine = conn.execute("SELECT text, message_id FROM commitments WHERE status = 'active' AND is_from_me = 1 "
                            "ORDER BY id").fetchall()
        theirs = conn.execute("SELECT count(*) FROM commitments WHERE status = 'active' AND is_from_me = 0"
                              ).fetchone()[0]
    assert mine
    made = answer(engine(), "What did I promise?")
    assert made.text.startswith(f"You have {len(mine):,} open promise")
    assert {m["message_id"] for m in mine[:5]} == set(_cited(made.text))
    assert all(f"\u201c{m['text']}\u201d" in made.text for m in mine[:5])
    with db() as conn:
        marks = ", ".join("?" * len(PROMISES))
        planted = {r[0] for r in conn.execute(f"SELECT id FROM messages WHERE text IN ({marks})", PROMISES)}
    assert planted & set(_cited(made.text))
    received = answer(engine(), "What was promised to me?")
    expected = f"People have {theirs:,} open promise" if theirs else "Nobody has an open promise to you"
    assert received.text.startswith(expected)


def test_a_question_of_no_known_form_gets_matches_and_the_honest_line(serve, imported):
    assert answer(engine(), "Where is the lantern festival?") is None
    client = serve()
    tid = client.post("/api/assistant/threads", json={"title": "Q"}).json()["id"]
    asked = client.post(f"/api/assistant/threads/{tid}/messages", json={"content": "Where is the lantern festival?"})
    with client.stream("GET", asked.json()["stream_url"]) as response:
        events = list(sse_events(response))
    final = events[-1]["data"]["message"]
    assert events[-1]["event"] == "final" and final["content"].endswith(NO_MODEL)
    assert "CHATSTATS_LLM_MODEL" in final["content"] and "ollama/" in final["content"]
    assert "".join(e["data"]["delta"] for e in events if e["event"] == "text_delta") == final["content"]

    asked = client.post(f"/api/assistant/threads/{tid}/messages", json={"content": "Who do I text the most?"})
    with client.stream("GET", asked.json()["stream_url"]) as response:
        events = list(sse_events(response))
    final = events[-1]["data"]["message"]
    assert final["content"].startswith("You text ") and NO_MODEL not in final["content"]
    assert final["citations"] and final["citations"][0]["source_id"] == f"M{final['citations'][0]['message_id']}"

"""The insights read API over a real mirror and real offline-model results, checked against SQL."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from backend.db.clock import now_ms
from tests.insights.helpers import analysed, api, ok, rows  # noqa: F401

YEAR_MS = 365 * 24 * 3600 * 1000


def _utc_day(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


def test_chat_topics_emotions_entities_equal_aggregates_of_the_stored_rows(api, analysed):
    chat_id = analysed["chat_id"]
    body = ok(api.get(f"/api/insights/chats/{chat_id}"))
    assert body["chat_id"] == chat_id

    weights, convs = defaultdict(float), defaultdict(set)
    for r in rows("SELECT topic, weight, conversation_id FROM topics WHERE chat_id = ? AND participant IS NULL",
                  (chat_id,)):
        weights[r["topic"]] += r["weight"]
        convs[r["topic"]].add(r["conversation_id"])
    expected = sorted(weights, key=lambda t: (-round(weights[t], 4), -len(convs[t]), t))[:15]
    assert len(weights) > 15  # the list is really cut to the top ones
    assert [t["topic"] for t in body["topics"]] == expected
    for t in body["topics"]:
        assert t["weight"] == round(weights[t["topic"]], 4) and t["conversations"] == len(convs[t["topic"]])

    scores = defaultdict(list)
    for r in rows("SELECT participant, emotion, score FROM emotions WHERE chat_id = ?", (chat_id,)):
        scores[(r["participant"], r["emotion"])].append(r["score"])
    got = {(p["participant"], e["emotion"]): (e["score"], e["conversations"])
           for p in body["emotions"] for e in p["emotions"]}
    assert got.keys() == scores.keys() and len({p for p, _ in got}) >= 2
    assert all(v > 0 for values in scores.values() for v in values)  # only emotions with evidence are stored
    for key, values in scores.items():
        assert got[key][0] == pytest.approx(sum(values) / len(values), abs=1e-4)  # rounded to 4 places
    for person in body["emotions"]:
        assert [e["score"] for e in person["emotions"]] == sorted((e["score"] for e in person["emotions"]),
                                                                  reverse=True)

    mentions = Counter()
    for r in rows("SELECT kind, lower(text) AS t, mentions FROM entities WHERE chat_id = ?", (chat_id,)):
        mentions[(r["kind"], r["t"])] += r["mentions"]
    assert mentions and {(e["kind"], e["text"].lower()): e["mentions"] for e in body["entities"]} == dict(mentions)


def test_chat_summaries_are_the_latest_analysed_conversations_and_humour_quotes_its_messages(api, analysed):
    chat_id = analysed["chat_id"]
    body = ok(api.get(f"/api/insights/chats/{chat_id}"))
    # the fixture analysed the chat's newest conversations: the five newest lead, newest first
    assert [s["conversation_id"] for s in body["summaries"]] == analysed["conversations"][:5]
    stored = {r["conversation_id"]: r["summary"] for r in rows(
        "SELECT conversation_id, summary FROM conversation_analyses WHERE chat_id = ? AND pass_name = 'basic'",
        (chat_id,))}
    assert all(s["summary"] == stored[s["conversation_id"]] for s in body["summaries"])
    assert all(s["summary"].strip() for s in body["summaries"])

    humour = rows("SELECT h.id, h.message_id, m.text, h.laughed_by FROM humor_items h "
                  "JOIN messages m ON m.id = h.message_id WHERE h.chat_id = ?", (chat_id,))
    assert humour
    assert {h["id"]: (h["message_id"], h["message_text"], h["laughed_by"]) for h in body["humor"]} == {
        r["id"]: (r["message_id"], r["text"], json.loads(r["laughed_by"])) for r in humour}


def test_activity_timeline_counts_visible_messages_per_utc_day_and_week(api, analysed):
    chat_id = analysed["chat_id"]
    sent = rows("SELECT sent_at, is_from_me FROM messages WHERE chat_id = ? AND kind = 'message' "
                "AND deleted_at IS NULL", (chat_id,))
    per_day, per_day_sent = Counter(_utc_day(r["sent_at"]) for r in sent), Counter(
        _utc_day(r["sent_at"]) for r in sent if r["is_from_me"])
    days = ok(api.get(f"/api/insights/chats/{chat_id}", params={"bucket": "day"}))["activity"]
    assert [(d["bucket"], d["messages"], d["sent"]) for d in days] == [
        (day.isoformat(), per_day[day], per_day_sent[day]) for day in sorted(per_day)]

    per_week = Counter(_utc_day(r["sent_at"]) - timedelta(days=_utc_day(r["sent_at"]).weekday()) for r in sent)
    body = ok(api.get(f"/api/insights/chats/{chat_id}", params={"bucket": "week"}))
    assert body["bucket"] == "week"
    assert [(w["bucket"], w["messages"]) for w in body["activity"]] == [
        (monday.isoformat(), per_week[monday]) for monday in sorted(per_week)]
    assert len(per_week) < len(per_day) and sum(per_week.values()) == len(sent)

    since = sorted(r["sent_at"] for r in sent)[len(sent) // 2]
    recent = ok(api.get(f"/api/insights/chats/{chat_id}", params={"since": since}))["activity"]
    assert sum(d["messages"] for d in recent) == sum(r["sent_at"] >= since for r in sent)


def test_chats_ranked_by_volume_of_the_last_year_or_since_a_time(api, analysed):
    def expected(since: int) -> list[tuple]:
        return [tuple(r) for r in rows(
            "SELECT chat_id, count(*), sum(is_from_me), max(sent_at) FROM messages "
            "WHERE kind = 'message' AND deleted_at IS NULL AND sent_at >= ? GROUP BY chat_id "
            "ORDER BY count(*) DESC, max(sent_at) DESC, chat_id", (since,))]

    before = now_ms()
    body = ok(api.get("/api/insights/chats"))
    assert body["rank"] == "volume" and before - YEAR_MS <= body["since"] <= now_ms() - YEAR_MS
    ranked = [(c["chat_id"], c["messages"], c["sent"], c["last_message_at"]) for c in body["chats"]]
    assert ranked == expected(body["since"]) and len(ranked) >= 4
    assert all(c["received"] == c["messages"] - c["sent"] and c["name"] for c in body["chats"])
    # older messages exist, so the default window really leaves some out
    assert sum(c["messages"] for c in body["chats"]) < rows(
        "SELECT count(*) FROM messages WHERE kind = 'message' AND deleted_at IS NULL")[0][0]

    named = rows("SELECT id, display_name FROM chats WHERE display_name IS NOT NULL")
    assert all(c["name"] == dict(map(tuple, named))[c["chat_id"]] for c in body["chats"]
               if c["chat_id"] in dict(map(tuple, named)))

    everything = ok(api.get("/api/insights/chats", params={"since": 0, "limit": 2}))
    assert [(c["chat_id"], c["messages"]) for c in everything["chats"]] == [r[:2] for r in expected(0)[:2]]
    assert api.get("/api/insights/chats", params={"rank": "sentiment"}).status_code == 422


def test_conversation_shows_each_pass_with_its_rows(api, analysed):
    # one of the analysed conversations whose messages drew laughs (which ones depends on the generated data)
    conversation_id = rows(
        f"SELECT conversation_id FROM humor_items WHERE conversation_id IN "
        f"({','.join('?' * len(analysed['conversations']))}) ORDER BY conversation_id LIMIT 1",
        tuple(analysed["conversations"]))[0][0]
    body = ok(api.get(f"/api/insights/conversations/{conversation_id}"))
    stored = rows("SELECT * FROM conversation_analyses WHERE conversation_id = ? ORDER BY pass_name",
                  (conversation_id,))
    assert [a["pass_name"] for a in body["analyses"]] == [r["pass_name"] for r in stored] == [
        "basic", "commitments"]
    for analysis, row in zip(body["analyses"], stored, strict=True):
        for key in ("id", "model", "prompt_id", "prompt_version", "status", "created_at", "summary"):
            assert analysis[key] == row[key], key
        assert analysis["result"] == json.loads(row["result"])
        for name, table in (("entities", "entities"), ("topics", "topics"), ("emotions", "emotions"),
                            ("humor", "humor_items")):
            assert sorted(x["id"] for x in analysis[name]) == [r[0] for r in rows(
                f"SELECT id FROM {table} WHERE analysis_id = ? ORDER BY id", (row["id"],))], name
    basic = body["analyses"][0]
    assert basic["model"] == "chatstats/offline" and basic["topics"] and basic["humor"]
    assert basic["humor"][0]["message_text"] == rows("SELECT text FROM messages WHERE id = ?",
                                                     (basic["humor"][0]["message_id"],))[0][0]
    assert body["chat_id"] == analysed["chat_id"]

    unanalysed = rows("SELECT id FROM conversations WHERE id NOT IN (SELECT conversation_id FROM "
                      "conversation_analyses) LIMIT 1")[0][0]
    assert ok(api.get(f"/api/insights/conversations/{unanalysed}"))["analyses"] == []


def test_missing_things_and_bad_parameters(api, analysed):
    missing_chat = api.get("/api/insights/chats/999999")
    assert missing_chat.status_code == 404 and missing_chat.json()["code"] == "chat_not_found"
    missing = api.get("/api/insights/conversations/999999")
    assert missing.status_code == 404 and missing.json()["code"] == "conversation_not_found"
    assert api.get(f"/api/insights/chats/{analysed['chat_id']}", params={"bucket": "month"}).status_code == 422


def test_insights_require_the_token(api, analysed):
    for path in ("/api/insights/chats", f"/api/insights/chats/{analysed['chat_id']}",
                 f"/api/insights/conversations/{analysed['conversations'][0]}"):
        assert api.get(path).status_code == 200, path
        assert api.get(path, headers={"Authorization": ""}).status_code == 401, path
        assert api.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401, path

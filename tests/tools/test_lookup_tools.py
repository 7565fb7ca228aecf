"""The tools that read messages, people and conversations, against answers computed with SQL here."""

from __future__ import annotations

import re

import pytest

from backend.tools.exceptions import PersonNotFound, ToolArgumentsInvalid
from backend.tools.registry import TOOLS, call_tool, openai_tools
from tests.tools.helpers import VISIBLE, db, direct_people, engine, unique_first_name_person


def test_find_person_ranks_an_exact_first_name_first_with_its_one_to_one_chat(imported):
    person = unique_first_name_person()
    first = person["name"].split()[0]
    result = call_tool(engine(), "find_person", {"name": first.lower()})
    top = result["matches"][0]
    assert (top["contact_id"], top["name"], top["chat_id"]) == (person["contact_id"], person["name"], person["chat_id"])
    assert top["messages"] == person["messages"]
    assert call_tool(engine(), "find_person", {"name": "Zzyzx Qwerty"})["matches"] == []


def test_search_messages_by_one_person_returns_only_their_matching_messages(imported):
    person = direct_people()[0]
    with db() as conn:
        texts = [r[0] for r in conn.execute(
            f"SELECT m.text FROM messages m WHERE m.sender_contact_id = ? AND {VISIBLE} AND m.text IS NOT NULL",
            (person["contact_id"],))]
    words = sorted({w for t in texts for w in re.findall(r"[a-z]{5,}", t.lower())})
    word = words[0]
    with db() as conn:
        expected = {r[0] for r in conn.execute(f"""
            SELECT m.id FROM messages_fts f JOIN messages m ON m.id = f.rowid
            WHERE messages_fts MATCH ? AND m.sender_contact_id = ? AND m.is_from_me = 0 AND {VISIBLE}""",
            (f'"{word}"', person["contact_id"]))}
    result = call_tool(engine(), "search_messages", {"query": word, "person": person["name"], "limit": 50})
    found = {m["message_id"] for m in result["messages"]}
    assert found and found <= expected and result["total"] == len(expected)
    assert all(m["sender_contact_id"] == person["contact_id"] and word in m["text"].lower() for m in result["messages"])
    assert [c["message_id"] for c in result["citations"]] == [m["message_id"] for m in result["messages"]]
    assert all(c["conversation_id"] is not None for c in result["citations"])


def test_list_and_get_conversations_match_the_rows(imported):
    person = direct_people()[0]
    with db() as conn:
        expected = [dict(r) for r in conn.execute("""SELECT id, message_count FROM conversations WHERE chat_id = ?
                                                     ORDER BY last_message_at DESC, id DESC""", (person["chat_id"],))]
        latest = conn.execute(f"""SELECT m.id, m.text, m.is_from_me FROM messages m
                                  WHERE m.conversation_id = ? AND {VISIBLE} ORDER BY m.sent_at, m.id""",
                              (expected[0]["id"],)).fetchall()
    listed = call_tool(engine(), "list_conversations", {"person": person["name"], "limit": 100})
    assert [c["conversation_id"] for c in listed["conversations"]] == [e["id"] for e in expected]
    assert listed["messages"] == person["messages"] and listed["chat_id"] == person["chat_id"]
    got = call_tool(engine(), "get_conversation", {"id": expected[0]["id"]})
    assert [(m["message_id"], m["text"], m["is_from_me"]) for m in got["messages"]] == \
        [(r["id"], r["text"], bool(r["is_from_me"])) for r in latest]
    assert {c["conversation_id"] for c in got["citations"]} == {expected[0]["id"]}
    assert all(m["sender"] == ("Me" if m["is_from_me"] else person["name"]) for m in got["messages"])


def test_arguments_are_validated_and_unknown_people_and_tools_are_refused(imported):
    with pytest.raises(ToolArgumentsInvalid, match="limit"):
        call_tool(engine(), "search_messages", {"query": "x", "limit": 500})
    with pytest.raises(ToolArgumentsInvalid, match="not JSON"):
        call_tool(engine(), "search_messages", "{oops")
    with pytest.raises(ToolArgumentsInvalid, match="secret: Extra inputs"):
        call_tool(engine(), "find_person", {"name": "a", "secret": 1})
    with pytest.raises(PersonNotFound, match="Zzyzx"):
        call_tool(engine(), "list_conversations", {"person": "Zzyzx"})
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in openai_tools()}
    assert set(schemas) == set(TOOLS) and len(schemas) == 9
    assert all("$defs" not in s and s["type"] == "object" for s in schemas.values())

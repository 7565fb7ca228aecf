"""The privacy setting: `aggregate` never carries message text, `redacted` never a name, number or email."""

from __future__ import annotations

import json
import re

import pytest

from backend.tools.registry import call_tool
from tests.tools.helpers import VISIBLE, db, direct_people, engine


def _secrets() -> tuple[list[str], list[str], list[str]]:
    """(message texts, contact names and name parts, phone numbers and emails) of the mirror."""
    with db() as conn:
        texts = [r[0] for r in conn.execute(f"SELECT m.text FROM messages m WHERE {VISIBLE} AND length(m.text) > 8")]
        names = {part for r in conn.execute("SELECT display_name, first_name, last_name FROM contacts")
                 for value in r if value for part in [value, *value.split()] if len(part) >= 3}
        identifiers = [r[0] for r in conn.execute("SELECT value FROM contact_identifiers")]
    return texts, sorted(names), identifiers


def _results(privacy: str) -> list[dict]:
    person = direct_people()[0]
    with db() as conn:
        conversation = conn.execute("SELECT id FROM conversations WHERE chat_id = ? ORDER BY message_count DESC",
                                    (person["chat_id"],)).fetchone()[0]
        word = conn.execute(f"""SELECT lower(m.text) FROM messages m WHERE m.sender_contact_id = ? AND {VISIBLE}
                                AND m.text GLOB '*[a-z][a-z][a-z][a-z][a-z]*' ORDER BY m.id""",
                            (person["contact_id"],)).fetchone()[0]
    word = max(re.findall(r"[a-z]+", word), key=len)
    calls = [("find_person", {"name": person["name"]}),
             ("search_messages", {"query": word, "person": person["name"]}),
             ("search_messages", {"query": word}),
             ("list_conversations", {"person": person["name"]}),
             ("get_conversation", {"id": conversation}),
             ("commitments", {"status": "all"})]
    return [call_tool(engine(), name, args, privacy=privacy) for name, args in calls]  # type: ignore[arg-type]


@pytest.mark.parametrize("privacy", ["aggregate", "redacted"])
def test_the_privacy_modes_hold_back_what_they_promise(imported, privacy):
    texts, names, identifiers = _secrets()
    full = json.dumps(_results("full"), ensure_ascii=False)
    shown = json.dumps(_results(privacy), ensure_ascii=False)
    assert any(t in full for t in texts) and any(n in full for n in names)  # the full results do hold them
    if privacy == "aggregate":
        assert not [t for t in texts if t in shown]
        data = _results(privacy)
        assert data[4]["message_count"] == json.loads(full)[4]["message_count"]  # the numbers stay
        assert len(data[4]["messages"]) == len(json.loads(full)[4]["messages"])
    else:
        leaked = [n for n in names if re.search(rf"\b{re.escape(n)}\b", shown, re.IGNORECASE)]
        assert leaked == []
        assert [i for i in identifiers if i in shown or re.sub(r"\D", "", i) in re.sub(r"\D", "", shown) and
                len(re.sub(r"\D", "", i)) >= 7 and re.sub(r"\D", "", i) in shown] == []
        assert "Person " in shown

"""Insights over an imported demo source, checked against counts computed here from the mirror's rows, and a
message written to chat.db reaching the overview through live sync."""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from datetime import datetime

from backend.config import get_settings
from backend.db.engine import get_engine
from backend.insights import service
from backend.insights.stats import cache, live_overview
from backend.insights.stats.period import local_zone
from backend.source.demo.live import LiveSourceWriter

ALL = service.make_period("all")


def _rows(sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(get_settings().central_db_path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _owner() -> dict[int, int]:
    merged = {r["id"]: r["merged_into_id"] for r in _rows("SELECT id, merged_into_id FROM contacts")}

    def live(cid: int) -> int:
        for _ in range(40):
            if merged.get(cid) is None:
                return cid
            cid = merged[cid]
        return cid

    return {cid: live(cid) for cid in merged}


def test_overview_and_people_equal_counts_of_the_mirror_rows(imported):
    engine = get_engine()
    visible = _rows("SELECT chat_id, is_from_me, sent_at, sender_contact_id FROM messages "
                    "WHERE kind = 'message' AND deleted_at IS NULL")
    o = service.overview(engine, ALL, limit=100)
    assert o.messages.total == len(visible) > 300
    assert o.messages.sent == sum(r["is_from_me"] for r in visible)
    assert o.chats == len({r["chat_id"] for r in visible})
    assert sum(map(sum, o.heatmap.cells)) == len(visible)
    zone = local_zone()
    per_hour = Counter((datetime.fromtimestamp(r["sent_at"] / 1000, zone).weekday(),
                        datetime.fromtimestamp(r["sent_at"] / 1000, zone).hour) for r in visible)
    assert {(d, h): n for d, row in enumerate(o.heatmap.cells) for h, n in enumerate(row) if n} == dict(per_hour)

    owner = _owner()
    partner: dict[int, int] = {}
    for r in _rows("SELECT p.chat_id, p.contact_id FROM chat_participants p JOIN chats c ON c.id = p.chat_id "
                   "WHERE c.is_group = 0"):
        partner[r["chat_id"]] = min(partner.get(r["chat_id"], 1 << 60), owner[r["contact_id"]])
    per_person: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for r in visible:
        if r["chat_id"] in partner:
            per_person[partner[r["chat_id"]]][0] += 1
            per_person[partner[r["chat_id"]]][1] += r["is_from_me"]
    expected = sorted(per_person.items(), key=lambda kv: -kv[1][0])
    assert [p.messages for p in o.top_people] == [m for _, (m, _) in expected][:100]
    assert {p.contact_id: (p.messages, p.sent) for p in o.top_people} == {
        c: (m, s) for c, (m, s) in expected[:100]}

    reactions = _rows("SELECT r.is_from_me, t.is_from_me AS mine FROM reactions r "
                      "JOIN messages t ON t.id = r.message_id WHERE r.is_active = 1")
    assert o.reactions.given == sum(r["is_from_me"] for r in reactions) > 0
    assert o.reactions.received == sum(1 for r in reactions if not r["is_from_me"] and r["mine"])

    top = o.top_people[0]
    person = service.person_stats(engine, top.contact_id, ALL)
    assert (person.messages.total, person.messages.sent) == (top.messages, top.sent)
    years = service.list_years(engine).years
    assert sum(service.year_review(engine, y).messages.total for y in years) == len(visible)


def test_a_message_written_to_chat_db_reaches_the_overview_through_live_sync(live_sync, imported):
    engine = get_engine()
    before = service.overview(engine, ALL)
    with LiveSourceWriter(imported / "chat.db", seed=5) as writer:
        writer.write_message(text="counted by the overview", from_me=True)
    live_sync.run_pass()
    after = service.overview(engine, ALL)
    assert (after.messages.total, after.messages.sent) == (before.messages.total + 1, before.messages.sent + 1)
    assert live_overview.current_sums(engine, ALL).updates == 1
    cache.clear()
    assert service.overview(engine, ALL) == after

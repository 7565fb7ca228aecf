"""Every statistic of a small hand-written mirror against answers worked out by hand (see stats_fixtures.py).

The tests run in New York time: a UTC implementation would put the 2024-12-31 23:00 message in 2025, the
2025-03-11 23:30 one on 03-12, and the late-night and heatmap cells elsewhere.
"""

from __future__ import annotations

import pytest

from backend.insights import service
from backend.insights.exceptions import ChatNotFound, ContactNotFound, InvalidPeriod, YearNotFound
from backend.insights.stats import cache, live_overview
from tests.insights.stats_fixtures import ME, local_ms

ALL = service.make_period("all")


def test_overview_totals_people_reactions_and_time_of_day(small, migrated_engine):
    o = service.overview(migrated_engine, ALL)
    assert o.messages.model_dump() == {"total": 19, "sent": 6, "received": 13}  # tapbacks, deleted, rename: out
    assert (o.chats, o.group_chats, o.people) == (5, 1, 3)  # Ann, Bob (two handles, one person), Cat
    assert o.first_message_at == local_ms("2024-12-31 23:00") and o.last_message_at == local_ms("2025-07-01 08:00")
    assert (o.reactions.given, o.reactions.received) == (1, 2)  # the removed one and Cat's on Ann's do not count
    assert {(k.kind, k.emoji, k.given, k.received) for k in o.reactions.by_kind} == {
        ("love", "", 1, 0), ("laugh", "", 0, 1), ("emoji", "🔥", 0, 1)}
    assert [(p.contact_id, p.name, p.messages, p.sent, p.received, p.share) for p in o.top_people] == [
        (1, "Ann", 8, 3, 5, 0.6667), (2, "Bob", 4, 2, 2, 0.3333)]
    assert o.top_people[1].chat_ids == [2, 3] and o.top_people[0].trend is None
    assert (o.initiations.me, o.initiations.them, o.initiations.share_me) == (3, 5, 0.375)
    assert o.late_night_share == round(2 / 19, 4)  # 00:10 and 00:20 local
    assert o.heatmap.cells[0][9] == 4 and o.heatmap.cells[6][18] == 6 and o.heatmap.cells[1][23] == 2  # two Tuesdays
    assert sum(map(sum, o.heatmap.cells)) == 19
    s = o.streaks
    assert (s.longest, s.longest_start, s.longest_end, s.current, s.active_days) == (
        3, "2025-03-10", "2025-03-12", 0, 8)
    assert o.activity.bucket == "week"  # 2024-12-31 to 2025-07-01: more than three months, less than three years
    assert [(p.bucket, p.messages) for p in o.activity.points] == [  # weeks start on Monday
        ("2024-12-30", 2), ("2025-03-10", 8), ("2025-04-28", 2), ("2025-05-26", 6), ("2025-06-30", 1)]
    months = service.overview(migrated_engine, ALL, bucket="month").activity
    assert [(p.bucket, p.messages, p.sent) for p in months.points] == [
        ("2024-12-01", 1, 0), ("2025-01-01", 1, 1), ("2025-03-01", 8, 3), ("2025-05-01", 2, 1),
        ("2025-06-01", 6, 1), ("2025-07-01", 1, 0)]
    days = service.overview(migrated_engine, ALL, bucket="day").activity.points
    assert [(p.bucket, p.messages) for p in days][:4] == [
        ("2024-12-31", 1), ("2025-01-01", 1), ("2025-03-10", 4), ("2025-03-11", 1)]


def test_periods_are_local_days_and_a_period_without_messages_is_zero(small, migrated_engine):
    one_day = service.overview(migrated_engine, service.make_period(since="2025-03-11", until="2025-03-11"))
    assert one_day.messages.total == 1 and one_day.messages.sent == 1  # 23:30 local, 03:30 UTC the next day
    nothing = service.overview(migrated_engine, service.make_period(since="2020-01-01", until="2020-12-31"))
    assert nothing.messages.total == 0 and nothing.top_people == [] and nothing.streaks.longest == 0
    assert nothing.first_message_at is None and nothing.late_night_share is None
    march = service.top_people(migrated_engine, service.make_period(since="2025-03-12", until="2025-05-31"))
    # trend against the 81 days before: Ann's 5 messages of 03-10 and 03-11, Bob's 2 around new year
    assert [(p.name, p.messages, p.previous_messages) for p in march] == [("Ann", 3, 5), ("Bob", 2, 2)]
    assert march[0].trend == round((3 - 5) / 5, 4) and march[1].trend == 0.0


def test_person_initiators_reply_gaps_streak_emoji_and_words(small, migrated_engine):
    ann = service.person_stats(migrated_engine, 1, ALL)
    assert (ann.name, ann.chat_ids, ann.messages.total, ann.messages.sent, ann.group_messages) == (
        "Ann", [1], 8, 3, 2)
    assert (ann.initiations.me, ann.initiations.them) == (2, 2)
    r = ann.response_times
    assert (r.mine_median_s, r.mine_p90_s, r.mine_count) == (180.0, 180.0, 1)  # 09:05 after her 09:02
    # 09:20 after my 09:05, 00:10 after my 23:30; 15:00 is a new conversation (3 h after 12:00), not a reply
    assert (r.theirs_median_s, r.theirs_p90_s, r.theirs_count) == (1650.0, 2400.0, 2)
    assert (ann.streaks.longest, ann.streaks.active_days) == (3, 3)
    assert [(e.value, e.count) for e in ann.top_emoji] == [("☕", 2), ("👍", 1), ("🦉", 1)]
    assert [e.value for e in ann.top_emoji_mine] == ["👍", "🦉"] and ann.top_emoji_theirs[0].count == 2
    assert ann.top_words[0].value == "coffee" and ann.top_words[0].count == 2
    assert not {"yes", "the", "up"} & {w.value for w in ann.top_words}  # stopwords
    assert (ann.reactions.given, ann.reactions.received) == (1, 1)
    assert ann.late_night_share == round(1 / 8, 4) and ann.share == round(8 / 12, 4)


def test_person_merges_handles_and_unknown_or_deleted_contacts_are_404(small, migrated_engine, client):
    bob = service.person_stats(migrated_engine, 3, ALL)  # the old number's contact counts as Bob
    assert (bob.contact_id, bob.chat_ids, bob.messages.total, bob.messages.sent, bob.group_messages) == (
        2, [2, 3], 4, 2, 1)
    assert (bob.response_times.mine_median_s, bob.response_times.theirs_median_s) == (4800.0, 600.0)
    assert (bob.initiations.me, bob.initiations.them) == (1, 1)
    with pytest.raises(ContactNotFound):
        service.person_stats(migrated_engine, 5, ALL)  # deleted: its chat's message still counts in totals
    for path in ("/api/insights/people/5", "/api/insights/people/999"):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["code"] == "contact_not_found"


def test_group_shares_replies_and_reactions(small, migrated_engine):
    trip = service.chat_stats(migrated_engine, 4, ALL)
    assert (trip.name, trip.is_group, trip.messages.total) == ("Trip", True, 6)
    assert [(m.name, m.messages, m.share) for m in trip.members] == [
        ("Ann", 2, 0.3333), ("Cat", 2, 0.3333), ("Bob", 1, 0.1667), ("Me", 1, 0.1667)]
    assert trip.loudest.name == "Ann" and trip.quietest.name == "Bob"
    assert sorted((e.from_name, e.to_name, e.replies) for e in trip.replies) == [
        ("Ann", "Me", 1), ("Bob", "Ann", 1), ("Cat", "Bob", 1), ("Me", "Cat", 1)]
    shares = {m.name: (m.reactions_given, m.reactions_received) for m in trip.members}
    assert shares["Cat"] == (1, 0) and shares["Ann"] == (0, 1) and shares["Me"] == (0, 0)
    with pytest.raises(ChatNotFound):
        service.chat_stats(migrated_engine, 999, ALL)


def test_year_review_uses_local_years_and_compares_with_the_year_before(small, migrated_engine, client):
    y = service.year_review(migrated_engine, 2025)
    assert y.messages.model_dump() == {"total": 18, "sent": 6, "received": 12}
    assert (y.people, y.years) == (3, [2024, 2025])
    assert y.busiest_day.model_dump() == {"day": "2025-06-01", "messages": 6}
    assert [(p.name, p.messages) for p in y.top_people] == [("Ann", 8), ("Bob", 3)]
    assert [p.name for p in y.new_people] == ["Ann"]  # Bob wrote first on 2024-12-31
    assert (y.longest_conversation.chat_id, y.longest_conversation.messages) == (4, 6)
    assert y.previous_year.model_dump() == {"messages": 1, "messages_change": 17.0, "people": 1,
                                            "people_change": 2.0}
    assert [(p.bucket, p.messages) for p in y.activity.points] == [
        ("2025-01-01", 1), ("2025-03-01", 8), ("2025-05-01", 2), ("2025-06-01", 6), ("2025-07-01", 1)]
    with pytest.raises(YearNotFound):
        service.year_review(migrated_engine, 2023)
    response = client.get("/api/insights/years/2023")
    assert response.status_code == 404 and "2024, 2025" in response.json()["message"]
    assert client.get("/api/insights/years").json() == {"years": [2024, 2025]}


def test_a_new_message_changes_the_overview_incrementally_as_a_full_computation_would(small, migrated_engine):
    before = service.overview(migrated_engine, ALL)
    small.add_message(2, "2025-07-02 09:00", 2, "new 😂")  # opens a conversation: a day after the last one
    small.add_message(1, "2025-07-02 23:30", ME, "late")  # late night, a new day for the streak
    after = service.overview(migrated_engine, ALL)
    assert live_overview.current_sums(migrated_engine, ALL).updates == 1  # folded in, not recomputed
    assert after.messages.total == before.messages.total + 2 and after.messages.received == 14
    assert [(p.name, p.messages) for p in after.top_people] == [("Ann", 9), ("Bob", 5)]
    assert (after.initiations.me, after.initiations.them) == (4, 6)
    cache.clear()
    assert service.overview(migrated_engine, ALL) == after  # the same as computing it all again

    # a deletion is not an append: everything is recomputed
    small.conn.execute("UPDATE messages SET deleted_at = 1 WHERE text = 'late'")
    small.conn.execute("UPDATE chats SET message_count = message_count - 1 WHERE id = 1")
    small.conn.commit()
    again = service.overview(migrated_engine, ALL)
    assert again.messages.total == before.messages.total + 1
    assert live_overview.current_sums(migrated_engine, ALL).updates == 0


def test_bad_input_is_a_clear_4xx(empty, migrated_engine, client):
    o = service.overview(migrated_engine, ALL)  # an empty mirror
    assert o.messages.total == 0 and o.people == 0 and o.top_people == [] and o.heatmap.max == 0
    body = client.get("/api/insights/overview").json()
    assert body["messages"] == {"total": 0, "sent": 0, "received": 0} and body["top_people"] == []
    assert client.get("/api/insights/years/2025").status_code == 404
    for params in ({"period": "yesterday"}, {"since": "last tuesday"}, {"since": "2025-02-01", "until": "2025-01-01"}):
        response = client.get("/api/insights/overview", params=params)
        assert response.status_code == 422 and response.json()["code"] == "invalid_period", params
    assert client.get("/api/insights/years/0").status_code == 422
    assert client.get("/api/insights/people/abc").status_code == 422
    assert client.get("/api/insights/chats/7/stats").status_code == 404
    with pytest.raises(InvalidPeriod):
        service.make_period("fortnight")
    assert "Response time" in client.get("/api/insights/metrics").json()["markdown"]

"""The yearly review: a calendar year (local time) of messages, with changes against the year before."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine

from backend.insights.exceptions import YearNotFound
from backend.insights.stats import derive, repo
from backend.insights.stats.context import Mirror
from backend.insights.stats.local_time import local_day
from backend.insights.stats.period import year_period
from backend.insights.stats.schemas import (
    BusiestDay,
    LongestConversation,
    NewPerson,
    YearChange,
    YearList,
    YearReview,
)
from backend.insights.stats.service import (
    TOP_PEOPLE,
    TOP_TERMS,
    compute,
    compute_uncached,
    count_people,
    hours_of,
    message_counts,
    period_out,
    rank_people,
    reaction_stats,
)
from backend.insights.stats.text import count_emoji, count_words

NEW_PEOPLE = 10


def years_with_messages(conn: Connection, mirror: Mirror) -> list[int]:
    if mirror.first is None or mirror.last is None:
        return []
    first = datetime.fromtimestamp(mirror.first / 1000, mirror.zone).year
    last = datetime.fromtimestamp(mirror.last / 1000, mirror.zone).year
    return [y for y in range(max(first, 1970), min(last, 9998) + 1)
            if repo.has_messages(conn, since=year_period(y).since_ms, until=year_period(y).until_ms)]


def _change(now: int, before: int | None) -> float | None:
    return round((now - before) / before, 4) if before else None


def year_review(engine: Engine, year: int) -> YearReview:
    period = year_period(year)  # InvalidPeriod outside 1970-9998

    def run(conn: Connection, mirror: Mirror) -> YearReview:
        since, until = period.since_ms, period.until_ms
        if not repo.has_messages(conn, since=since, until=until):
            years = years_with_messages(conn, mirror)
            hint = f"years with messages: {', '.join(map(str, years))}" if years else "the mirror has no messages yet"
            raise YearNotFound(f"No messages in {year}; {hint}.", year=year, years=years)
        before = year_period(year - 1) if year > 1970 else None
        rows = repo.list_chat_counts(conn, since=since, until=until)
        prev_rows = repo.list_chat_counts(conn, since=before.since_ms, until=before.until_ms) if before else []
        senders = repo.list_senders(conn, since=since, until=until)
        hours = hours_of(conn, mirror, period, None)
        days = hours.days()
        busiest = max(days.items(), key=lambda kv: (kv[1][0], -kv[0]), default=None)
        first_ever: dict[int, int] = {}
        for r in repo.list_first_messages(conn):
            if (person := mirror.partner(r["chat_id"])) is not None:
                first_ever[person] = min(first_ever.get(person, r["first"]), r["first"])
        ranked = rank_people(mirror, rows, prev_rows, None)
        new = [NewPerson(contact_id=p.contact_id, name=p.name, first_message_at=first_ever[p.contact_id],
                         messages=p.messages)
               for p in ranked if period.contains(first_ever.get(p.contact_id, -1))][:NEW_PEOPLE]
        longest = repo.get_longest_conversation(conn, since=since, until=until)
        texts = [text for _, text in repo.list_texts(conn, since=since, until=until)]
        counts = message_counts(rows)
        people = count_people(mirror, rows, senders)
        prev_total = sum(r["messages"] for r in prev_rows) if prev_rows else None
        prev_people = (count_people(mirror, prev_rows, repo.list_senders(conn, since=before.since_ms,
                                                                     until=before.until_ms))
                       if prev_rows and before else None)
        return YearReview(
            year=year, period=period_out(period, mirror), messages=counts, people=people, chats=len(rows),
            top_people=ranked[:TOP_PEOPLE],
            busiest_day=BusiestDay(day=local_day(busiest[0]), messages=busiest[1][0]) if busiest else None,
            new_people=new,
            longest_conversation=LongestConversation(**longest, name=mirror.chat_name(longest["chat_id"]))
            if longest else None,
            top_emoji=derive.top(count_emoji(texts), TOP_TERMS), top_words=derive.top(count_words(texts), TOP_TERMS),
            streaks=derive.streaks(days, today=mirror.today()), reactions=reaction_stats(conn, period, None),
            activity=derive.activity(hours, "month", mirror.day_ms), heatmap=hours.heatmap(),
            previous_year=YearChange(messages=prev_total, messages_change=_change(counts.total, prev_total),
                                     people=prev_people, people_change=_change(people, prev_people)),
            years=years_with_messages(conn, mirror))

    return compute(engine, ("year", year), run)




def list_years(engine: Engine) -> YearList:
    return YearList(years=compute_uncached(engine, years_with_messages))

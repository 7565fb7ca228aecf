"""`chatstats insights overview|person|year`: the exact statistics of the mirror, as text or JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from backend.cli.errors import handle_errors
from backend.config import get_settings

if TYPE_CHECKING:
    from types import ModuleType

    from sqlalchemy import Engine

app = typer.Typer(help="Exact statistics over the mirror (definitions: app/backend/insights/METRICS.md).",
                  no_args_is_help=True)

_PERIOD = typer.Option(None, "--period", help="30d, this_year, last_year or all (default)")
_SINCE = typer.Option(None, "--since", help="local date YYYY-MM-DD (inclusive)")
_UNTIL = typer.Option(None, "--until", help="local date YYYY-MM-DD (inclusive)")
_JSON = typer.Option(False, "--json", help="Print one JSON object.")


def _engine() -> Engine:
    from backend.db.engine import get_engine  # lazily: every `chatstats` command imports this module
    from backend.db.migrate import upgrade

    engine = get_engine(get_settings().central_db_path)
    upgrade(engine)
    return engine


def _service() -> ModuleType:
    from backend.insights import service  # lazily: every `chatstats` command imports this module

    return service


def _print(model: object, as_json: bool, lines: list[str]) -> None:
    if as_json:
        print(json.dumps(model.model_dump(mode="json"), ensure_ascii=False))  # type: ignore[attr-defined]
    else:
        print("\n".join(lines))


@app.command()
@handle_errors
def overview(period: str = _PERIOD, since: str = _SINCE, until: str = _UNTIL, as_json: bool = _JSON,
             limit: int = typer.Option(10, "--limit", min=1, max=100, help="How many top people")) -> None:
    """Totals, people ranked by one-to-one messages, streaks, reactions."""
    service = _service()
    result = service.overview(_engine(), service.make_period(period, since, until), limit=limit)
    m = result.messages
    lines = [f"{result.period.label}: {m.total} messages ({m.sent} sent, {m.received} received), "
             f"{result.reactions.given} reactions given, {result.reactions.received} received, "
             f"{result.chats} chats, {result.people} people",
             f"longest streak {result.streaks.longest} days, current {result.streaks.current}"]
    lines += [f"{i:>3}. {p.name}: {p.messages} ({p.sent} sent, {p.received} received)"
              for i, p in enumerate(result.top_people, 1)]
    _print(result, as_json, lines)


@app.command()
@handle_errors
def person(contact_id: int = typer.Argument(..., help="A contact id (GET /api/contacts, or the overview)"),
           period: str = _PERIOD, since: str = _SINCE, until: str = _UNTIL, as_json: bool = _JSON) -> None:
    """One person: messages, who starts, response times, streaks, emoji and words."""
    service = _service()
    result = service.person_stats(_engine(), contact_id, service.make_period(period, since, until))
    r, m = result.response_times, result.messages
    lines = [f"{result.name} ({result.period.label}): {m.total} messages ({m.sent} sent, {m.received} received)",
             f"you started {result.initiations.me} conversations, they started {result.initiations.them}",
             f"your replies: median {r.mine_median_s} s, p90 {r.mine_p90_s} s; "
             f"theirs: median {r.theirs_median_s} s, p90 {r.theirs_p90_s} s",
             f"longest streak {result.streaks.longest} days, current {result.streaks.current}",
             "emoji: " + " ".join(f"{e.value}{e.count}" for e in result.top_emoji),
             "words: " + ", ".join(f"{w.value} ({w.count})" for w in result.top_words)]
    _print(result, as_json, lines)


@app.command()
@handle_errors
def year(year: int = typer.Argument(..., help="A calendar year, e.g. 2025"), as_json: bool = _JSON) -> None:
    """Your year in messages."""
    service = _service()
    result = service.year_review(_engine(), year)
    lines = [f"{year}: {result.messages.total} messages with {result.people} people in {result.chats} chats"]
    if result.busiest_day:
        lines.append(f"busiest day {result.busiest_day.day} ({result.busiest_day.messages} messages)")
    lines += [f"{i:>3}. {p.name}: {p.messages}" for i, p in enumerate(result.top_people, 1)]
    _print(result, as_json, lines)

"""`chatstats demo-source`: a synthetic Messages + Contacts source in Apple's real schemas.

out_dir plays ~/Library/Messages: out_dir/chat.db (WAL mode, like Messages keeps it),
out_dir/Attachments/ (a few real small files; most attachment rows point at files that are not
there) and out_dir/AddressBook/ (the main store plus Sources/<uuid>/ stores), plus
out_dir/demo_source.json, the summary below with the planted conversations.

The same seed and `now` give the same rows, byte for byte. The layers: people.py (who), plan.py
(handles and chats), timeline.py (when), messages.py and attachments.py (the rows), content.py
(the words), bodies.py (the BLOBs); this module runs them and writes the files.
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
import time
from contextlib import closing
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backend.errors import InvalidRequest
from backend.source.addressbook.writer import write_addressbook
from backend.source.chatdb.capabilities import probe
from backend.source.demo.attachments import ATTACHMENT_COLUMNS
from backend.source.demo.content import PLANTED_TOPICS, TOPICS
from backend.source.demo.messages import Renderer
from backend.source.demo.people import contact_cards, make_people
from backend.source.demo.plan import ChatPlan, SourcePlan, new_guid, plan_source
from backend.source.demo.rows import MESSAGE_COLUMNS
from backend.source.demo.schema import load_schema, register_apple_functions
from backend.source.demo.timeline import DAY, MALFORMED, SPAN_DAYS, allocate, build_timeline, event_count, to_ns
from backend.source.demo.variants import DEFAULT_VARIANT, apply_variant, get_variant

APPLE_EPOCH = datetime(2001, 1, 1, tzinfo=UTC)
NS = 1_000_000_000
MANIFEST_NAME = "demo_source.json"
# The malformed rows, in the order they are added as the source grows (one per 40 messages).
MALFORMED_KINDS = ("seconds", "random_body", "truncated_body", "bad_handle", "orphan", "zero_date",
                   "seconds", "seconds", "random_body", "truncated_body")


class DemoSourceExists(InvalidRequest, FileExistsError):
    """The demo never writes over a source: out_dir could be someone's real ~/Library/Messages."""

    code = "demo_source_exists"


@dataclass(frozen=True)
class DemoSourceSummary:
    chat_db: str
    addressbook_dir: str
    messages: int
    chats: int
    handles: int
    contacts: int
    attachments: int
    reactions: int
    edited: int
    unsent: int
    malformed: int
    seed: int
    seconds: float
    attachments_dir: str = ""
    real_attachment_files: int = 0
    topics: tuple[dict, ...] = field(default=())  # planted conversations: key, title, keywords, guids
    schema: str = DEFAULT_VARIANT  # which macOS wrote it (variants.py)

    def to_json(self) -> dict:
        data = asdict(self)
        data["topics"] = [dict(topic) for topic in self.topics]
        return data


def planted_topics(seed: int = 7, *, messages: int = 20_000, chats: int = 40) -> list[dict]:
    """Which scripted conversations a source of this size holds (key, title, keywords).

    Where they landed (chat guid, message guids) is in the summary / demo_source.json.
    """
    del seed  # the set depends on the size only; the chats they land in depend on the seed
    return [{"key": t["key"], "title": t["title"], "keywords": list(t["keywords"])}
            for t in PLANTED_TOPICS[: _topic_count(messages, chats)]]


def _topic_count(messages: int, chats: int) -> int:
    return min(len(PLANTED_TOPICS), chats // 3, messages // 150)


def generate_demo_source(
    out_dir: Path,
    *,
    messages: int = 20_000,
    chats: int = 40,
    contacts: int = 150,
    seed: int = 7,
    now: datetime | None = None,
    schema: str = DEFAULT_VARIANT,
) -> DemoSourceSummary:
    """Write a synthetic chat.db, Attachments/ and AddressBook/ under `out_dir` (see module doc).

    Refuses to write over an existing chat.db or address book.
    """
    started = time.perf_counter()
    get_variant(schema)  # an unknown name is refused before anything is written
    if messages < 0 or chats < 1 or contacts < 0:
        raise InvalidRequest("demo-source needs messages >= 0, chats >= 1 and contacts >= 0",
                             messages=messages, chats=chats, contacts=contacts)
    out_dir = Path(out_dir)
    chat_db = out_dir / "chat.db"
    addressbook_dir = out_dir / "AddressBook"
    if chat_db.exists() or addressbook_dir.exists():
        raise DemoSourceExists(f"{out_dir} already holds a chat.db or AddressBook: choose an empty or new folder",
                               out_dir=str(out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    now_s = (now - APPLE_EPOCH).total_seconds()

    rng = random.Random(seed)
    people = make_people(rng, contacts=contacts, strangers=max(3, chats // 6) + max(0, chats - contacts))
    source = plan_source(rng, people, chats=chats, contacts=contacts, topics=_topic_count(messages, chats))
    malformed = list(MALFORMED_KINDS[: min(len(MALFORMED_KINDS), messages // 40)])
    budget = _fit_budget(source.chats, messages, len(malformed))
    minimum = [1 if c.kind == "shortcode" else 2 for c in source.chats]
    counts = allocate([c.weight for c in source.chats], budget, minimum)
    timeline, spans = build_timeline(rng, source.chats, counts, now_s, tuple(TOPICS))
    entries = timeline.entries
    entries.extend(_malformed_entries(rng, source, spans, now_s, malformed))
    entries.sort(key=lambda entry: entry[0])
    chat_rowids = _chat_rowids(source.chats, spans)

    renderer = Renderer(
        rng, source, timeline.sessions, chat_rowids, now_ns=int(now_s) * NS,
        attachments_dir=out_dir / "Attachments", real_file_budget=max(2, min(20, messages // 2_000)),
    )
    _write_chat_db(chat_db, rng, source, chat_rowids, spans, renderer, entries)
    apply_variant(chat_db, schema)
    cards = contact_cards(rng, people, ["main", new_guid(rng), new_guid(rng)])
    write_addressbook(addressbook_dir, cards)

    stats = renderer.stats
    summary = DemoSourceSummary(
        chat_db=str(chat_db), addressbook_dir=str(addressbook_dir), messages=stats.messages,
        chats=len(source.chats), handles=len(source.handles), contacts=contacts,
        attachments=stats.attachments, reactions=stats.reactions, edited=stats.edited, unsent=stats.unsent,
        malformed=stats.malformed, seed=seed, seconds=round(time.perf_counter() - started, 3),
        attachments_dir=str(out_dir / "Attachments"), real_attachment_files=len(renderer.files.real_paths),
        topics=tuple(_topic_json(t) for t in stats.topics.values()), schema=schema,
    )
    if schema != DEFAULT_VARIANT:  # the variant dropped what its macOS could not hold
        summary = replace(summary, **_counts(chat_db))  # type: ignore[arg-type]  # the counting fields only
    (out_dir / MANIFEST_NAME).write_text(json.dumps(summary.to_json(), indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    return summary


def _counts(chat_db: Path) -> dict[str, int]:
    with closing(sqlite3.connect(chat_db)) as conn:
        capabilities = probe(conn)
        count = conn.execute("SELECT count(*) FROM message").fetchone()[0]
        reactions = conn.execute("SELECT count(*) FROM message WHERE associated_message_type BETWEEN 2000 AND 3999"
                                 ).fetchone()[0] if capabilities.tapbacks else 0
        edited = unsent = 0
        if capabilities.has("message", "date_edited"):
            edited, unsent = conn.execute(
                "SELECT coalesce(sum(coalesce(date_edited, 0) != 0 AND coalesce(date_retracted, 0) = 0), 0), "
                "coalesce(sum(coalesce(date_retracted, 0) != 0), 0) FROM message").fetchone()
    return {"messages": count, "reactions": reactions, "edited": edited, "unsent": unsent}


def _fit_budget(plans: list[ChatPlan], messages: int, malformed: int) -> int:
    """Messages left for ordinary conversation; drops planted topics and group events that do not fit."""
    def planted() -> int:
        return sum(len(t["script"]) for c in plans for t in c.planted)

    def events() -> int:
        return sum(event_count(c) for c in plans)

    groups = [c for c in reversed(plans) if c.kind == "group"]
    for group in groups:  # group events stay a small share of the rows
        if events() <= max(0, messages // 25):
            break
        group.renames, group.joiners, group.leavers, group.title = [], [], [], None
    while planted() and messages - malformed - events() - planted() < 2 * len(plans):
        next(c for c in reversed(plans) if c.planted).planted.pop()
    for group in groups:
        if messages - malformed - events() >= 0:
            break
        group.renames, group.joiners, group.leavers, group.title = [], [], [], None
    return max(0, messages - malformed - events() - planted())


def _malformed_entries(
    rng: random.Random, source: SourcePlan, spans: dict[int, tuple[float, float]], now_s: float, kinds: list[str],
) -> list[tuple[int, int, int, Any]]:
    directs = [c for c in source.chats if c.kind == "direct"] or source.chats
    with_messages = [c for c in directs if c.index in spans] or directs
    entries = []
    for number, kind in enumerate(kinds):
        if kind == "seconds":  # years before everything else: pre-High Sierra rows kept on upgrade
            chat = with_messages[0]
            t = now_s - SPAN_DAYS * DAY - rng.uniform(200, 900) * DAY
        else:
            chat = with_messages[(number * 5 + 1) % len(with_messages)]
            first, last = spans.get(chat.index, (now_s - 30 * DAY, now_s - DAY))
            t = rng.uniform(first, last)
        entries.append((to_ns(rng, t), chat.index, MALFORMED, kind))
    return entries


def _chat_rowids(plans: list[ChatPlan], spans: dict[int, tuple[float, float]]) -> dict[int, int]:
    """Chats are numbered in the order their first message arrived, as Messages creates them."""
    order = sorted(range(len(plans)), key=lambda i: (spans.get(i, (math.inf,))[0], i))
    return {index: rowid for rowid, index in enumerate(order, start=1)}


def _write_chat_db(
    path: Path, rng: random.Random, source: SourcePlan, chat_rowids: dict[int, int],
    spans: dict[int, tuple[float, float]], renderer: Renderer, entries: list,
) -> None:
    schema = load_schema()
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        register_apple_functions(conn)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -262144", "temp_store = MEMORY"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("BEGIN")
        for statement in schema.tables + schema.rows:
            conn.execute(statement)
        conn.execute("INSERT INTO _SqliteDatabaseProperties (key, value) VALUES ('_UniqueIdentifier', ?)",
                     (new_guid(rng),))
        conn.executemany(
            "INSERT INTO handle (ROWID, id, country, service, uncanonicalized_id, person_centric_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(h.rowid, h.id, h.country, h.service, h.uncanonicalized_id, h.person_centric_id) for h in source.handles],
        )
        conn.executemany(
            """
            INSERT INTO chat (ROWID, guid, style, state, account_id, chat_identifier, service_name, room_name,
                account_login, is_archived, last_addressed_handle, display_name, group_id, is_filtered,
                successful_query, last_read_message_timestamp, original_group_id)
            VALUES (?, ?, ?, 3, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 1, ?, ?)
            """,
            sorted(_chat_row(c, chat_rowids[c.index], spans) for c in source.chats),
        )
        conn.executemany(
            "INSERT INTO chat_handle_join (chat_id, handle_id) VALUES (?, ?)",
            sorted({(chat_rowids[c.index], h.rowid) for c in source.chats
                    for h in [*c.members, *c.joiners] if all(h is not gone for gone in c.leavers)}),
        )
        message_sql = (f"INSERT INTO message ({', '.join(MESSAGE_COLUMNS)}) "
                       f"VALUES ({', '.join('?' * len(MESSAGE_COLUMNS))})")
        attachment_sql = (f"INSERT INTO attachment ({', '.join(ATTACHMENT_COLUMNS)}) "
                          f"VALUES ({', '.join('?' * len(ATTACHMENT_COLUMNS))})")
        for batch in renderer.render(entries):
            conn.executemany(message_sql, batch.messages)
            conn.executemany("INSERT INTO chat_message_join (chat_id, message_id, message_date) VALUES (?, ?, ?)",
                             batch.chat_messages)
            conn.executemany(attachment_sql, batch.attachments)
            conn.executemany("INSERT INTO message_attachment_join (message_id, attachment_id) VALUES (?, ?)",
                             batch.message_attachments)
        conn.executemany("INSERT INTO deleted_messages (guid) VALUES (?)",
                         [(guid,) for guid in renderer.stats.deleted_guids])
        # Indexes after the bulk load (faster than keeping them up to date row by row), triggers
        # last: the work they would have done (cache_roomnames, cache_has_attachments) is done.
        for statement in schema.indexes + schema.triggers:
            conn.execute(statement)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _chat_row(plan: ChatPlan, rowid: int, spans: dict[int, tuple[float, float]]) -> tuple:
    last = spans.get(plan.index, (0.0, 0.0))[1]
    style = 43 if plan.kind == "group" else 45
    display_name = plan.title or ""
    return (rowid, plan.guid, style, plan.account_guid, plan.chat_identifier, plan.service, plan.room_name,
            plan.account, plan.is_archived, plan.my_address, display_name,
            plan.group_id, int(last * 1_000_000) * 1_000 if last else 0, plan.group_id)


def _topic_json(record: dict) -> dict:
    return {**record, "first_date": _iso(record["first_date"]), "last_date": _iso(record["last_date"])}


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(APPLE_EPOCH.timestamp() + ns / NS, tz=UTC).isoformat(timespec="seconds")

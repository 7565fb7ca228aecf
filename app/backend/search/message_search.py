"""Message search: the messages matching what was typed in the search box, counted exactly, sorted and paged.

`total` is the number of messages matching the full-text part of the query (words, phrases, symbols) and its
filters. Sorted by time, the pages walk those messages. Sorted by relevance, the best RANKED messages matching
any of the terms by bm25 are fused with the vector ranking of the conversation chunks holding them (reciprocal
rank, weights below), and messages of the nearest chunks that share no word with the query come among them
(so a plain-language question finds its topic); those not matching every term are `matched: false` and
counted in `related`, not in `total`. Past the fused head, the rest of the matches follow in bm25 order.
Every order is deterministic, so pages have no gaps and no repeats while the data stands still.

When the words match fewer than PARTIAL_BELOW messages, the messages holding them only inside longer words
("inner" in "dinner", 東京 inside 東京に行く) follow every word match in each order, newest first (oldest
first when sorted so), flagged `partial` and counted exactly in `partial` (never in `total`).
"""

from __future__ import annotations

import contextvars
import json
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Engine

from backend.config import get_settings
from backend.db.session import session_scope
from backend.search import repo, service
from backend.search.exceptions import InvalidSearch
from backend.search.highlight import highlights
from backend.search.query import ParsedQuery, parse_query
from backend.search.stages import stage
from backend.search.words import query_words

Sort = Literal["relevance", "newest", "oldest"]
Mode = Literal["hybrid", "fts", "vector"]

RANKED = 500  # full-text hits fused with the vector side; deeper ones follow in bm25 order
RANK_WINDOW = 1000  # the head ranks by bm25 among this many most recent matches of any term
CHUNKS = 60  # nearest chunks the vector side looks at
# The fusion below was tuned on half of the labelled topics (bench/search.py --grid; the other half held out):
# as found (k 60, equal weights, 3 related per chunk, content words embedded) hybrid lost to vector alone on
# recall@10 and to full text alone on MRR. A small k lets the first ranks of each side lead; more messages of
# each near chunk, and embedding the question as typed, find more of a topic's messages.
RELATED_PER_CHUNK = 5  # messages sharing no query word taken from each near chunk
RRF_K = 5
W_FTS = 1.1
W_VECTOR = 1.0
W_RELATED = 0.9  # a related message (no word matched) counts this share of its chunk's vector score
W_ALL = 1.0  # messages matching every term: this weight more, by their bm25 rank among those
EMBED_QUESTION = True  # the vector side embeds the query as typed (function words kept), not its content words
WALK_BY_TIME_FROM = 500  # matches from which a time-sorted page walks the messages by time instead of sorting
PARTIAL_BELOW = 50  # fewer word matches than this: messages holding the words inside longer words follow
# The vector side (query embedding, FAISS, its SQL) runs on a thread of its own while this one counts and ranks
# the full-text side: both spend most of their time outside the GIL (ONNX, FAISS, SQLite).
_VECTOR_SIDE = ThreadPoolExecutor(max_workers=4, thread_name_prefix="search-vector")


def checked_sort(value: str) -> Sort:
    if value not in ("relevance", "newest", "oldest"):
        raise InvalidSearch(f"Unknown sort {value!r}: use relevance, newest or oldest.")
    return value  # type: ignore[return-value]  # checked just above


def checked_mode(value: str) -> Mode:
    if value not in ("hybrid", "fts", "vector"):
        raise InvalidSearch(f"Unknown mode {value!r}: use hybrid, fts or vector.")
    return value  # type: ignore[return-value]  # checked just above


@dataclass(frozen=True)
class SearchFilters:
    chat_ids: list[int] | None = None
    contact_ids: list[int] | None = None  # chats any of them is in
    sender_ids: list[int] | None = None
    from_me: bool | None = None
    since: int | None = None
    until: int | None = None
    has_attachment: bool = False
    has_link: bool = False


def resolve_filters(engine: Engine, parsed: ParsedQuery, given: SearchFilters) -> tuple[dict[str, Any], bool]:
    """The repository filters of a query (typed operators and API parameters together) and whether any name
    typed matched nothing (then nothing matches)."""
    chat_ids, contact_ids, sender_ids = given.chat_ids, given.contact_ids, given.sender_ids
    unmatched = False

    def narrow(current: list[int] | None, found: list[int]) -> list[int]:
        return found if current is None else sorted(set(current) & set(found))

    with session_scope(engine) as conn:
        for name in parsed.chat_names:
            chat_ids = narrow(chat_ids, repo.find_chat_ids(conn, name=name))
        for name in parsed.with_names:
            contact_ids = narrow(contact_ids, repo.find_contact_ids(conn, name=name))
        for name in parsed.from_names:
            sender_ids = narrow(sender_ids, repo.find_contact_ids(conn, name=name))
    for found in (chat_ids, contact_ids, sender_ids):
        unmatched = unmatched or found == []
    since = max(v for v in (given.since, parsed.since) if v is not None) if given.since or parsed.since else None
    until = min(v for v in (given.until, parsed.until) if v is not None) if given.until or parsed.until else None
    marks = list(parsed.symbols)
    if parsed.has_link or given.has_link:
        marks.append("has:link")
    return {
        "match": parsed.fts_match(), "marks": marks, "chat_ids": chat_ids, "contact_ids": contact_ids,
        "sender_ids": sender_ids, "from_me": parsed.from_me if parsed.from_me is not None else given.from_me,
        "since": since, "until": until, "has_attachment": parsed.has_attachment or given.has_attachment,
    }, unmatched


def _partial_where(parsed: ParsedQuery, where: dict[str, Any]) -> dict[str, Any] | None:
    """The filters of the partial matches of a query: messages not matching its words as words (or word
    starts) but holding each word inside a longer one ("inner" in "dinner"), as typed. Words of three or
    more characters are looked up in the trigram index (case-insensitive, diacritics as typed); shorter ones
    only in scripts written without spaces between words (as typed, e.g. 東京 inside 東京に行く), while a short
    Latin word ("ok") still has to start a word. Phrases and every filter hold as in the full match. None when
    no word can match inside another."""
    inside = [w for w in parsed.words if len(w) >= 3]
    short = [w for w in parsed.words if len(w) < 3 and not w.isascii()]
    if not (inside or short) or not where.get("match"):
        return None
    kept = [w for w in parsed.words if w not in inside and w not in short]
    match = " ".join([f'"{w}"*' for w in kept] + ['"' + " ".join(p) + '"' for p in parsed.phrases])
    return {**where, "match": match or None, "trigram": " ".join(f'"{w}"' for w in inside) or None,
            "contains": short, "not_match": where["match"]}


def _vector_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """The scope the vector index is searched in (what search.service understands)."""
    chats = filters.get("chat_ids")
    return {"chat_id": None, "contact_id": None, "since": filters.get("since"), "until": filters.get("until"),
            "chat_ids": None if chats is None else json.dumps(chats)}


def _vector_side(engine: Engine, parsed: ParsedQuery, filters: dict[str, Any]
                 ) -> tuple[dict[int, int], list[tuple[int, int]]]:
    """(message id -> rank of its chunk, related messages as (message id, chunk rank)) from the chunks
    nearest the query's free text, within the filters."""
    text = parsed.text
    if not text.strip():
        return {}, []
    model = get_settings().embedding_model
    chunks = service.vector_ranking(engine, parsed.question if EMBED_QUESTION else text, _vector_filters(filters),
                                    model=model, limit=CHUNKS)
    chunk_rank: dict[int, int] = {}
    for rank, chunk in enumerate(chunks, start=1):
        for message_id in chunk["message_ids"]:
            chunk_rank.setdefault(message_id, rank)
    words = set(query_words(text))
    with stage("vector.related_sql"), session_scope(engine) as conn:
        # the words are what a related message need not share; symbols, has:link and the filters still hold
        texts = repo.get_matching_texts(conn, ids=list(chunk_rank), filters={**filters, "match": None})
    with stage("vector.pick"):
        related: list[tuple[int, int]] = []
        shared = {m: len(words.intersection(query_words(text))) for m, text in texts.items()}
        for rank, chunk in enumerate(chunks, start=1):
            members = [m for m in chunk["message_ids"] if m in texts and chunk_rank[m] == rank]
            members.sort(key=lambda m: (-shared[m], -len(texts[m]), m))
            related += [(m, rank) for m in members[:RELATED_PER_CHUNK]]
        return {m: r for m, r in chunk_rank.items() if m in texts}, related


def _fuse(ranked: list[int], matched: set[int], chunk_rank: dict[int, int], related: list[tuple[int, int]], *,
          vector_only: bool) -> tuple[list[int], set[int]]:
    """The fused order (best first) of the full-text ranking and the vector side, and the ids matching every
    term (none when the vector side is used alone)."""
    scores: dict[int, float] = {}
    if vector_only:  # the nearest chunks' messages alone, in chunk order
        for message_id, rank in related:
            scores[message_id] = W_VECTOR / (RRF_K + rank)
        matched = set()
    else:
        all_rank = 0
        for rank, message_id in enumerate(ranked, start=1):
            scores[message_id] = W_FTS / (RRF_K + rank)
            if W_ALL and message_id in matched:
                all_rank += 1
                scores[message_id] += W_ALL / (RRF_K + all_rank)
            if message_id in chunk_rank:
                scores[message_id] += W_VECTOR / (RRF_K + chunk_rank[message_id])
        for message_id, rank in related:
            if message_id not in scores:
                scores[message_id] = W_RELATED * W_VECTOR / (RRF_K + rank)
    return sorted(scores, key=lambda m: (-scores[m], m)), matched


def _window(any_match: str, filters: dict[str, Any], total: int) -> int | None:
    """How many of the most recent matches the bm25 head looks at: all of them when they are the `total`
    messages and no more than RANK_WINDOW (then a filtered search needs no bm25 tail on its first pages)."""
    return None if any_match == filters.get("match") and total <= RANK_WINDOW else RANK_WINDOW


def _relevance_head(engine: Engine, parsed: ParsedQuery, filters: dict[str, Any], mode: Mode, *, total: int,
                    vector: Future[tuple[dict[int, int], list[tuple[int, int]]]] | None = None,
                    ) -> tuple[list[tuple[int, bool]], list[int]]:
    """The fused head of the relevance order, best first, as (message id, matches every term); and the ids in
    it that match every term (the rest of those follow the head in bm25 order).

    The full-text side ranks messages matching ANY of the terms by bm25, so a question's topic words count
    even where no message holds all its words; only messages matching every term are counted in `total`."""
    ranked: list[int] = []
    matched: set[int] = set()
    if mode != "vector":
        with stage("fts.rank"), session_scope(engine) as conn:
            any_match = parsed.fts_match_any()
            if any_match:
                ranked = repo.list_matching_by_rank(conn, filters={**filters, "match": any_match}, limit=RANKED,
                                                    offset=0, window=_window(any_match, filters, total))
                matched = (set(ranked) if any_match == filters.get("match")
                           else repo.keep_matching(conn, ids=ranked, filters=filters))
            else:  # symbols or filters alone: newest first
                ranked = repo.list_matching_by_time(conn, filters=filters, newest_first=True, limit=RANKED,
                                                    offset=0)
                matched = set(ranked)
    if mode == "fts" or not parsed.text.strip():
        return [(m, m in matched) for m in ranked], [m for m in ranked if m in matched]
    with stage("vector.wait"):
        chunk_rank, related = vector.result() if vector is not None else _vector_side(engine, parsed, filters)
    with stage("fuse"):
        order, matched = _fuse(ranked, matched, chunk_rank, related, vector_only=mode == "vector")
    return [(m, m in matched) for m in order], [m for m in order if m in matched]


def search_messages(engine: Engine, q: str, *, filters: SearchFilters | None = None, sort: Sort = "relevance",
                    offset: int = 0, limit: int = 20, mode: Mode = "hybrid") -> dict[str, Any]:
    """One page of the messages matching `q` (its words, phrases, symbols and typed filters, with `filters`),
    the exact `total`, and each message's highlights."""
    with stage("parse_filters"):
        parsed = parse_query(q)
        where, unmatched = resolve_filters(engine, parsed, filters or SearchFilters())
    page: list[tuple[int, bool]] = []
    related = partial = 0
    listed = 0  # how many messages the order lists before the partial matches
    narrowed = where["from_me"] is not None or any(where[key] not in (None, False, []) for key in where
                                                   if key not in ("match", "from_me"))
    if unmatched or not (parsed.has_full_text or narrowed):  # a name matching nobody, or nothing to look for
        total = 0
    else:
        # symbols or filters alone rank newest first: the same order, paged in SQL
        sort_by = "newest" if sort == "relevance" and not where.get("match") and mode != "vector" else sort
        vector = None
        if sort_by == "relevance" and mode != "fts" and parsed.text.strip():  # _relevance_head will want it
            vector = _VECTOR_SIDE.submit(contextvars.copy_context().run, _vector_side, engine, parsed, where)
        with session_scope(engine) as conn:
            with stage("count"):
                total = repo.count_matching_messages(conn, filters=where)
            if sort_by != "relevance":
                listed = total
                with stage("page"):
                    page = [(m, True) for m in repo.list_matching_by_time(
                        conn, filters=where, newest_first=sort_by == "newest", limit=limit, offset=offset,
                        many=total >= WALK_BY_TIME_FROM)]
        if sort_by == "relevance":
            head, head_matched = _relevance_head(engine, parsed, where, mode, total=total, vector=vector)
            related = sum(1 for _, hit in head if not hit)
            listed = len(head) + (total - len(head_matched) if mode != "vector" else 0)
            page = head[offset:offset + limit]
            if len(page) < limit and mode != "vector" and total > len(head_matched):
                deeper = max(0, offset - len(head))
                with stage("tail"), session_scope(engine) as conn:
                    if where.get("match"):
                        tail = repo.list_matching_by_rank(conn, filters=where, limit=limit - len(page),
                                                          offset=deeper, exclude=head_matched)
                    else:
                        tail = repo.list_matching_by_time(conn, filters=where, newest_first=True,
                                                          limit=limit - len(page), offset=deeper,
                                                          exclude=head_matched)
                page += [(m, True) for m in tail]
    inside = _partial_where(parsed, where) if not unmatched and total < PARTIAL_BELOW and mode != "vector" else None
    partial_ids: set[int] = set()
    if inside is not None:
        with stage("partial"), session_scope(engine) as conn:
            partial = repo.count_matching_messages(conn, filters=inside)
            if partial and len(page) < limit:
                found = repo.list_matching_by_time(conn, filters=inside, newest_first=sort != "oldest",
                                                   limit=limit - len(page), offset=max(0, offset - listed))
                partial_ids = set(found)
                page += [(m, False) for m in found]
    with stage("hydrate"), session_scope(engine) as conn:
        rows = repo.get_result_messages(conn, ids=[m for m, _ in page])
    results = []
    for message_id, hit in page:
        row = rows[message_id]
        results.append({
            "id": row["id"], "guid": row["guid"], "chat_id": row["chat_id"], "chat_name": row["chat_name"],
            "conversation_id": row["conversation_id"], "text": row["text"], "sent_at": row["sent_at"],
            "sender": row["sender"], "sender_contact_id": row["sender_contact_id"],
            "is_from_me": bool(row["is_from_me"]), "has_attachments": bool(row["has_attachments"]),
            "matched": hit, "partial": message_id in partial_ids,
            "highlights": [list(span) for span in highlights(row["text"], parsed, inside=message_id in partial_ids)],
        })
    return {
        "q": q, "sort": sort, "mode": mode, "offset": offset, "limit": limit, "total": total,
        "related": related, "partial": partial, "results": results,
        "terms": {"words": parsed.words, "phrases": [" ".join(p) for p in parsed.phrases],
                  "symbols": parsed.symbols},
        "filters": {key: value for key, value in where.items() if key not in ("match", "marks")
                    and value not in (None, False)},
    }

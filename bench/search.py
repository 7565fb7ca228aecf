"""Search benchmark: embedding throughput, FAISS build time, message-search latency by kind of query, and
ranking on a labelled set. Prints one JSON object.

Imports a demo source into a fresh data dir (or reuses --data-dir), embeds every conversation with the
configured embedding model (the local int8 MiniLM by default), rebuilds the index, then times message search
(p50/p95, ms; cold_*: before the query's vector is cached) for word, emoji, phrase, filtered and sorted queries
taken from the data, in fts and hybrid mode, with the mean time of each stage (backend.search.stages); and
measures recall@10 and MRR@10 over messages on the labelled set (backend.source.demo.search_labels: planted
topics' titles, keywords and paraphrased questions) for hybrid, fts and vector, with the fusion settings as
found ("before", FOUND) and as now ("after"), on two halves of the topics: "tuning" (what the settings were
chosen on, --grid) and "held_out".
`peak_rss_mb` is the whole process's peak; `phase_peak_rss_mb` the peak within each phase (Linux).

    .venv/bin/python bench/search.py [--messages 20000] [--repeat 3]
    .venv/bin/python bench/search.py --messages 300000 --no-ranking --data-dir /tmp/s300k  # slow: embeds it all
    .venv/bin/python bench/search.py --messages 300000 --no-ranking --data-dir /tmp/s300k  # again: reuses it
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import demo_source


def _rss_mb() -> float | None:
    """Resident set size now (Linux), MB."""
    try:
        with open("/proc/self/status") as handle:
            return next(int(line.split()[1]) / 1024 for line in handle if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return None


def _phase_peak() -> float | None:
    """The peak RSS since the last call (Linux: VmHWM, then reset to the current RSS), MB."""
    try:
        with open("/proc/self/status") as handle:
            peak = next(int(line.split()[1]) / 1024 for line in handle if line.startswith("VmHWM:"))
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return round(peak, 1)
    except (OSError, StopIteration):
        return None


def _labelled(engine, topics: list[dict]) -> list[dict]:
    """The labelled set (backend.source.demo.search_labels) with each query's relevant message ids."""
    from backend.source.demo.search_labels import labelled_queries

    queries = labelled_queries(topics)
    with engine.connect() as conn:
        for query in queries:
            marks = ",".join("?" * len(query["guids"]))
            query["relevant"] = {r[0] for r in conn.exec_driver_sql(
                f"SELECT id FROM messages WHERE guid IN ({marks})", tuple(query["guids"]))}
    return [q for q in queries if q["relevant"]]


def _after_top(engine, q: str, mode: str) -> list[int]:
    from backend.search.message_search import search_messages

    return [r["id"] for r in search_messages(engine, q, mode=mode, limit=10)["results"]]


# The fusion settings of backend.search.message_search as they were before tuning against the labelled set.
FOUND = {"W_FTS": 1.0, "W_VECTOR": 1.0, "W_RELATED": 0.9, "RELATED_PER_CHUNK": 3, "RRF_K": 60, "CHUNKS": 60,
         "RANK_WINDOW": 0, "W_ALL": 0.0, "EMBED_QUESTION": False}


@contextmanager
def fusion(settings: dict):
    """message_search's fusion constants set to `settings` within the block."""
    from backend.search import message_search as ms

    saved = {name: getattr(ms, name) for name in settings}
    try:
        for name, value in settings.items():
            setattr(ms, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(ms, name, value)


def current_fusion() -> dict:
    from backend.search import message_search as ms

    return {name: getattr(ms, name) for name in FOUND}


def halves(queries: list[dict]) -> dict[str, list[dict]]:
    """The labelled queries split by topic: "tuning" (every other topic, sorted by key) and "held_out"."""
    topics = sorted({q["topic"] for q in queries})
    tuning = set(topics[::2])
    return {"tuning": [q for q in queries if q["topic"] in tuning],
            "held_out": [q for q in queries if q["topic"] not in tuning]}


def _scores(engine, queries: list[dict], mode: str) -> dict:
    per_kind: dict[str, list[tuple[float, float]]] = {}
    for query in queries:
        top = _after_top(engine, query["q"], mode)
        found = [i for i, mid in enumerate(top) if mid in query["relevant"]]
        per_kind.setdefault(query["kind"], []).append(
            (len(found) / min(10, len(query["relevant"])), 1 / (found[0] + 1) if found else 0.0))
    every = [v for values in per_kind.values() for v in values]
    return {"recall_at_10": round(statistics.mean(v[0] for v in every), 3),
            "mrr_at_10": round(statistics.mean(v[1] for v in every), 3),
            "by_kind": {kind: {"recall_at_10": round(statistics.mean(v[0] for v in values), 3),
                               "mrr_at_10": round(statistics.mean(v[1] for v in values), 3)}
                        for kind, values in sorted(per_kind.items())}}


def ranking(engine, queries: list[dict], modes=("hybrid", "fts", "vector")) -> dict:
    """recall@10 (share of min(10, relevant) found in the top 10 messages) and MRR@10 of message search in
    each mode, with the fusion settings as found ("before") and as now ("after"), on both halves of the
    labelled set (the settings were tuned on "tuning" only)."""
    split = halves(queries)
    out: dict = {"labelled_queries": {name: len(qs) for name, qs in split.items()},
                 "topics": {name: sorted({q["topic"] for q in qs}) for name, qs in split.items()},
                 "settings": {"before": FOUND, "after": current_fusion()}}
    for label, settings in (("before", FOUND), ("after", current_fusion())):
        with fusion(settings):
            out[label] = {name: {mode: _scores(engine, qs, mode) for mode in modes} for name, qs in split.items()}
    return out


GRID = [  # settings tried against the tuning half (each over the current ones)
    {}, {"RRF_K": 10}, {"RRF_K": 3}, {"W_FTS": 1.1}, {"W_FTS": 1.2}, {"W_ALL": 0.0}, {"W_ALL": 2.0},
    {"W_RELATED": 0.8}, {"W_RELATED": 1.0}, {"RELATED_PER_CHUNK": 8}, {"RELATED_PER_CHUNK": 4},
    {"W_FTS": 1.2, "RELATED_PER_CHUNK": 8},
]


def fusion_grid(engine, queries: list[dict]) -> list[dict]:
    """Hybrid recall@10 and MRR@10 on each half for each setting of GRID."""
    split = halves(queries)
    out = []
    for change in GRID:
        with fusion(change):
            scores = {name: _scores(engine, qs, "hybrid") for name, qs in split.items()}
        out.append({"change": change, **{name: {"recall_at_10": v["recall_at_10"], "mrr_at_10": v["mrr_at_10"]}
                                         for name, v in scores.items()}})
    return out


def _query_pools(engine) -> dict[str, list[tuple[str, dict]]]:
    """Queries of each kind the figures are given for, taken from the data: (q, keyword arguments)."""
    with engine.connect() as conn:
        texts = [r[0] for r in conn.exec_driver_sql(
            "SELECT text FROM messages WHERE text IS NOT NULL ORDER BY id LIMIT 20000")]
        chat = conn.exec_driver_sql(
            "SELECT display_name FROM chats WHERE display_name IS NOT NULL AND display_name != '' "
            "ORDER BY message_count DESC LIMIT 1").scalar()
        sender = conn.exec_driver_sql(
            "SELECT c.first_name FROM contacts c JOIN messages m ON m.sender_contact_id = c.id "
            "WHERE c.first_name IS NOT NULL GROUP BY c.id ORDER BY count(*) DESC LIMIT 1").scalar()
        middle = conn.exec_driver_sql("SELECT sent_at FROM messages ORDER BY sent_at LIMIT 1 OFFSET "
                                      "(SELECT count(*) / 2 FROM messages)").scalar()
    import re
    from collections import Counter
    from datetime import UTC, datetime

    from backend.search.marks import symbol_spans

    words = Counter(w for t in texts for w in set(re.findall(r"[a-z]{4,}", t.lower())))
    common = [w for w, _ in words.most_common(40)]
    emoji = [c for c, _ in Counter(c for t in texts for _, _, c in symbol_spans(t)).most_common(12)]
    bigrams = Counter(" ".join(p) for t in texts for p in zip(re.findall(r"[a-z]+", t.lower()),
                                                              re.findall(r"[a-z]+", t.lower())[1:], strict=False))
    phrases = [f'"{b}"' for b, _ in bigrams.most_common(30)][::2]
    day = datetime.fromtimestamp(middle / 1000, UTC).date().isoformat()
    filtered = [f"{common[i % len(common)]} {f}" for i, f in enumerate(
        ["from:me", "from:them", f'in:"{chat}"', f"from:{sender}", f"after:{day}", f"before:{day}", "has:link",
         "has:attachment"])]
    return {
        "word": [(w, {}) for w in common[:20]],
        "emoji": [(e, {}) for e in emoji],
        "phrase": [(p, {}) for p in phrases],
        "filtered": [(q, {}) for q in filtered],
        "sorted": [(w, {"sort": sort}) for w in common[:10] for sort in ("newest", "oldest")],
    }


def latencies(engine, pools: dict, *, modes: tuple[str, ...], repeat: int) -> dict:
    """p50/p95 (ms) of message search for each kind of query and mode, each query run `repeat` times; cold_*:
    the first run of each (its query vector not cached yet); `stages_ms`: the mean milliseconds a query spent in
    each stage (backend.search.stages) and the rest ("other")."""
    from backend.search.message_search import search_messages
    from backend.search.service import query_vectors
    from backend.search.stages import collect

    out: dict = {}
    for mode in modes:
        out[mode] = {}
        for kind, pool in pools.items():
            if not pool:
                continue
            search_messages(engine, pool[0][0], mode=mode, **pool[0][1])  # warm
            query_vectors.clear()  # the first run of each query embeds it: `cold_*`
            times: list[float] = []
            spent: dict[str, float] = {}
            for _ in range(repeat):
                for q, kwargs in pool:
                    with collect() as stages:
                        t0 = time.perf_counter()
                        search_messages(engine, q, mode=mode, limit=20, **kwargs)
                        times.append((time.perf_counter() - t0) * 1000)
                    for name, ms in stages.items():
                        spent[name] = spent.get(name, 0.0) + ms
                    spent["other"] = spent.get("other", 0.0) + times[-1] - sum(stages.values())
            stage_means = {name: round(ms / len(times), 2) for name, ms in sorted(spent.items(), key=lambda i: -i[1])}
            cold = sorted(times[:len(pool)])
            times.sort()
            out[mode][kind] = {"queries": len(times), "p50_ms": round(statistics.median(times), 2),
                               "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
                               "cold_p50_ms": round(statistics.median(cold), 2),
                               "cold_p95_ms": round(cold[int(0.95 * (len(cold) - 1))], 2), "stages_ms": stage_means}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--chats", type=int, default=None)
    parser.add_argument("--contacts", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each query pool")
    parser.add_argument("--no-ranking", action="store_true", help="latencies only")
    parser.add_argument("--grid", action="store_true", help="also hybrid ranking for each fusion setting in GRID")
    parser.add_argument("--no-embed", action="store_true", help="no vectors: fts latencies only")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="keep the imported and embedded data here; reused (no import, no embedding) when it "
                             "already holds them")
    parser.add_argument("--no-latency", action="store_true", help="ranking only")
    args = parser.parse_args()
    chats = args.chats or max(12, min(300, args.messages // 1000))
    contacts = args.contacts or max(30, min(1000, args.messages // 300))
    source, summary = demo_source(args.messages, chats, contacts)
    phases = {}
    _phase_peak()

    reuse = bool(args.data_dir and (args.data_dir / "bench-ready").exists())
    os.environ["CHATSTATS_DATA_DIR"] = str(args.data_dir or tempfile.mkdtemp(prefix="bench-search-"))
    from backend.config import get_settings
    from backend.db.engine import get_engine
    from backend.mirror.importer import import_source
    from backend.search import service
    from backend.vectors import index as vindex
    from backend.vectors.local_model import get_embedder

    settings = get_settings()
    if not reuse:
        import_source(settings, source=source / "chat.db", addressbook_dir=source / "AddressBook")
    engine = get_engine(settings.central_db_path)
    with engine.connect() as conn:
        searchable = conn.exec_driver_sql(
            "SELECT count(*) FROM messages WHERE deleted_at IS NULL AND is_unsent = 0 AND kind = 'message' "
            "AND text IS NOT NULL AND text != ''").scalar_one()

    phases["import"] = _phase_peak()
    stats, embed_s, build_s, rss_after_embed, vectors = {"chunks": 0}, 0.0, 0.0, None, 0
    if not args.no_embed and not reuse:
        get_embedder()  # model load is not throughput
        started = time.perf_counter()
        stats = service.embed_conversations(engine, update_index=False)
        embed_s = time.perf_counter() - started
        phases["embed"] = _phase_peak()
        rss_after_embed = _rss_mb()
        started = time.perf_counter()
        vectors = vindex.build_index(engine, model=settings.embedding_model).count
        build_s = time.perf_counter() - started
        phases["build"] = _phase_peak()
        if args.data_dir:
            (args.data_dir / "bench-ready").write_text("imported and embedded\n")

    topics = summary.get("topics", [])
    pools = _query_pools(engine)
    timings = None if args.no_latency else latencies(
        engine, pools, modes=("fts",) if args.no_embed else ("fts", "hybrid"), repeat=args.repeat)
    phases["search"] = _phase_peak()
    labelled = _labelled(engine, topics)
    recall = ranking(engine, labelled) if not (args.no_ranking or args.no_embed) else None
    grid = fusion_grid(engine, labelled) if args.grid and not args.no_embed else None

    print(json.dumps({
        "messages": summary["messages"], "searchable_messages": searchable, "chats": chats,
        "model": settings.embedding_model, "chunks": stats["chunks"], "cpu_count": os.cpu_count(),
        "embed_seconds": round(embed_s, 2),
        "embed_messages_per_s": round(searchable / embed_s, 1) if embed_s else None,
        "embed_chunks_per_s": round(stats["chunks"] / embed_s, 1) if embed_s else None,
        "index_vectors": vectors, "index_build_seconds": round(build_s, 3),
        "search_ms": timings, "ranking": recall, "fusion_grid": grid,
        # resetting VmHWM per phase resets getrusage's figure too: the peak is the largest phase's
        "peak_rss_mb": max([round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                            *(v for v in phases.values() if v is not None)]),
        "phase_peak_rss_mb": phases,
        "rss_after_embed_mb": round(rss_after_embed, 1) if rss_after_embed else None,
    }))
    engine.dispose()
    if not args.data_dir:
        shutil.rmtree(settings.data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

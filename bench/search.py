"""Search benchmark: embedding throughput, FAISS build time, search latency, peak RSS. Prints one JSON object.

Imports a demo source into a fresh data dir, embeds every conversation with the configured embedding
model (the local int8 MiniLM by default), rebuilds the index, then times hybrid search over 200 queries
(planted-topic titles and keywords, and common words, cycled), and measures recall@10 of each mode on the
planted topics (title, keywords together and each keyword -> the conversations holding the topic's messages).
`peak_rss_mb` is the whole process's peak; `phase_peak_rss_mb` the peak within each phase (Linux).

    .venv/bin/python bench/search.py [--messages 20000] [--queries 200]
    .venv/bin/python bench/search.py --messages 300000      # the full figure (slow: embeds everything)
    .venv/bin/python bench/search.py --profile vector       # where one mode's time goes (cProfile, stderr)

Queries run back to back; the local embedding provider has no request-rate limit (llm.limits), so the
figures time search itself.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import shutil
import statistics
import sys
import tempfile
import time
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


def _recall_at_10(engine, service, topics: list[dict]) -> dict[str, float]:
    """Mean share of each labelled query's relevant conversations found in the top 10, per mode."""
    queries = []
    with engine.connect() as conn:
        for topic in topics:
            marks = ",".join("?" * len(topic["message_guids"]))
            relevant = {r[0] for r in conn.exec_driver_sql(
                f"SELECT DISTINCT conversation_id FROM messages WHERE guid IN ({marks})",
                tuple(topic["message_guids"]))}
            queries.append((topic["title"], relevant))
            queries.append((" ".join(topic["keywords"]), relevant))
            queries.extend((keyword, relevant) for keyword in topic["keywords"])
    scores = {}
    for mode in ("hybrid", "fts", "vector"):
        found = 0.0
        for q, relevant in queries:
            top = {r["conversation_id"] for r in service.hybrid_search(engine, q, mode=mode, limit=10)}
            found += len(top & relevant) / len(relevant) if relevant else 0.0
        scores[mode] = round(found / len(queries), 3) if queries else None
    return {"labelled_queries": len(queries), **scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--chats", type=int, default=None)
    parser.add_argument("--contacts", type=int, default=None)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--profile", choices=("hybrid", "fts", "vector"), default=None,
                        help="also print a cProfile of that mode's queries (top 30 by cumulative time) to stderr")
    args = parser.parse_args()
    chats = args.chats or max(12, min(300, args.messages // 1000))
    contacts = args.contacts or max(30, min(1000, args.messages // 300))
    source, summary = demo_source(args.messages, chats, contacts)
    phases = {}
    _phase_peak()

    os.environ["CHATSTATS_DATA_DIR"] = tempfile.mkdtemp(prefix="bench-search-")
    from backend.config import get_settings
    from backend.db.engine import get_engine
    from backend.mirror.importer import import_source
    from backend.search import service
    from backend.vectors import index as vindex
    from backend.vectors.local_model import get_embedder

    settings = get_settings()
    import_source(settings, source=source / "chat.db", addressbook_dir=source / "AddressBook")
    engine = get_engine(settings.central_db_path)
    with engine.connect() as conn:
        searchable = conn.exec_driver_sql(
            "SELECT count(*) FROM messages WHERE deleted_at IS NULL AND is_unsent = 0 AND kind = 'message' "
            "AND text IS NOT NULL AND text != ''").scalar_one()

    phases["import"] = _phase_peak()
    get_embedder()  # model load is not throughput
    started = time.perf_counter()
    stats = service.embed_conversations(engine, update_index=False)
    embed_s = time.perf_counter() - started
    phases["embed"] = _phase_peak()
    rss_after_embed = _rss_mb()

    started = time.perf_counter()
    loaded = vindex.build_index(engine, model=settings.embedding_model)
    build_s = time.perf_counter() - started
    phases["build"] = _phase_peak()

    topics = summary.get("topics", [])
    pool = [t["title"] for t in topics] + [" ".join(t["keywords"]) for t in topics]
    pool += [k for t in topics for k in t["keywords"]]
    pool += ["dinner tonight", "running late", "happy birthday", "see you tomorrow", "movie", "weekend plans"]
    timings = {}
    for mode in ("hybrid", "fts", "vector"):
        service.hybrid_search(engine, pool[0], mode=mode)  # warm the index cache
        latencies = []
        profile = cProfile.Profile() if mode == args.profile else None
        if profile:
            profile.enable()
        for i in range(args.queries):
            t0 = time.perf_counter()
            service.hybrid_search(engine, pool[i % len(pool)], mode=mode, limit=20)
            latencies.append((time.perf_counter() - t0) * 1000)
        if profile:
            profile.disable()
            pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
        latencies.sort()
        timings[mode] = {"p50_ms": round(statistics.median(latencies), 2),
                         "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 2)}

    phases["search"] = _phase_peak()
    recall = _recall_at_10(engine, service, topics)

    print(json.dumps({
        "messages": summary["messages"], "searchable_messages": searchable, "chats": chats,
        "model": settings.embedding_model, "chunks": stats["chunks"], "cpu_count": os.cpu_count(),
        "embed_seconds": round(embed_s, 2),
        "embed_messages_per_s": round(searchable / embed_s, 1) if embed_s else None,
        "embed_chunks_per_s": round(stats["chunks"] / embed_s, 1) if embed_s else None,
        "index_vectors": loaded.count, "index_build_seconds": round(build_s, 3),
        "search": timings, "queries": args.queries,
        "recall_at_10": recall,
        # resetting VmHWM per phase resets getrusage's figure too: the peak is the largest phase's
        "peak_rss_mb": max([round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                            *(v for v in phases.values() if v is not None)]),
        "phase_peak_rss_mb": phases,
        "rss_after_embed_mb": round(rss_after_embed, 1) if rss_after_embed else None,
    }))
    engine.dispose()
    shutil.rmtree(settings.data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Search benchmark: embedding throughput, FAISS build time, search latency, peak RSS. Prints one JSON object.

Imports a demo source into a fresh data dir, embeds every conversation with the configured embedding
model (the local int8 MiniLM by default), rebuilds the index, then times hybrid search over 200 queries
(planted-topic titles and keywords, and common words, cycled).

    .venv/bin/python bench/search.py [--messages 20000] [--queries 200]
    .venv/bin/python bench/search.py --messages 300000      # the full figure (slow: embeds everything)
    .venv/bin/python bench/search.py --profile vector       # where one mode's time goes (cProfile, stderr)

Queries run back to back, so the gateway's request-rate limit on the embedding provider (600/min unless
llm.limits gives it its own default) paces every query embedding to ~100 ms. To time search itself:
    CHATSTATS_LLM_PROVIDER_LIMITS='{"chatstats-embed": {"requests_per_minute": 0}}' .venv/bin/python bench/search.py
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import demo_source  # noqa: E402


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

    get_embedder()  # model load is not throughput
    started = time.perf_counter()
    stats = service.embed_conversations(engine, update_index=False)
    embed_s = time.perf_counter() - started

    started = time.perf_counter()
    loaded = vindex.build_index(engine, model=settings.embedding_model)
    build_s = time.perf_counter() - started

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

    print(json.dumps({
        "messages": summary["messages"], "searchable_messages": searchable, "chats": chats,
        "model": settings.embedding_model, "chunks": stats["chunks"], "cpu_count": os.cpu_count(),
        "embed_seconds": round(embed_s, 2),
        "embed_messages_per_s": round(searchable / embed_s, 1) if embed_s else None,
        "embed_chunks_per_s": round(stats["chunks"] / embed_s, 1) if embed_s else None,
        "index_vectors": loaded.count, "index_build_seconds": round(build_s, 3),
        "search": timings, "queries": args.queries,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()

"""Full-import benchmark: 300k messages, 300 chats, 1,000 contacts. Prints one JSON object.

Each run imports into a fresh data dir in its own process (so peak RSS is the import's own).
The reference is SQLite copying the raw `message` table (INSERT INTO ... SELECT over ATTACH) in
the same run: the physical floor of moving those bytes, before any decoding or indexing.

    .venv/bin/python bench/import.py [--messages 300000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, demo_source

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from backend.config import get_settings
from backend.mirror.importer import import_source
source = Path(sys.argv[1])
started, cpu = time.perf_counter(), time.process_time()
summary = import_source(get_settings(), source=source / "chat.db", addressbook_dir=source / "AddressBook")
seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
workers = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "cpu_seconds": cpu, "worker_cpu_seconds": workers.ru_utime + workers.ru_stime,
                  "worker_peak_rss_mb": workers.ru_maxrss / 1024,
                  "messages": summary.counts["messages"], "conversations": summary.counts["conversations"]}))
"""


def raw_copy_seconds(chat_db: Path) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "copy.db")
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute(f"ATTACH DATABASE 'file:{chat_db}?mode=ro' AS src")
        conn.execute("CREATE TABLE message AS SELECT * FROM src.message WHERE 0")
        started = time.perf_counter()
        conn.execute("INSERT INTO message SELECT * FROM src.message")
        conn.commit()
        seconds = time.perf_counter() - started
        conn.close()
    return seconds


def one_import(source: Path) -> dict:
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "CHATSTATS_DATA_DIR": data, "CHATSTATS_LOG_LEVEL": "WARNING"}
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD, str(source)], env=env, check=True,
                             capture_output=True, text=True, cwd=data)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["process_seconds"] = time.perf_counter() - started
        return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--contacts", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args()

    started = time.perf_counter()
    source, generated = demo_source(args.messages, args.chats, args.contacts, cache=args.cache)
    generate_seconds = time.perf_counter() - started
    runs = [one_import(source) for _ in range(args.runs)]
    references = [raw_copy_seconds(source / "chat.db") for _ in range(args.runs)]
    median = statistics.median(r["seconds"] for r in runs)
    reference = statistics.median(references)
    print(json.dumps({
        "benchmark": "full_import",
        "source_messages": generated["messages"],
        "mirrored_messages": runs[0]["messages"],
        "conversations": runs[0]["conversations"],
        "runs": args.runs,
        "median_seconds": round(median, 3),
        "all_seconds": [round(r["seconds"], 3) for r in runs],
        "median_process_seconds": round(statistics.median(r["process_seconds"] for r in runs), 3),
        # CPU of the importing process and of its decode workers: steadier than wall time on a busy machine
        "median_cpu_seconds": round(statistics.median(r["cpu_seconds"] for r in runs), 3),
        "median_worker_cpu_seconds": round(statistics.median(r["worker_cpu_seconds"] for r in runs), 3),
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs), 1),
        "worker_peak_rss_mb": round(max(r["worker_peak_rss_mb"] for r in runs), 1),
        "reference_raw_copy_seconds": round(reference, 3),
        "ratio_to_raw_copy": round(median / reference, 2) if reference else None,
        "target_seconds": 3.0,
        "target_peak_rss_mb": 600,
        "generate_seconds": round(generate_seconds, 2),
    }, indent=2))


if __name__ == "__main__":
    main()

"""Insights benchmark: the overview, a person's page and the yearly review over a generated source.

Imports the demo source once (cached under bench/out), then times the service calls the API makes:
`cold` clears the result cache before each call (what the first request after a change pays), `warm` is
50 calls as the UI repeats them (cached while the mirror does not change). Then a live stream: a writer adds
messages to chat.db at --rate per second, live sync mirrors them once a second, and the overview is asked
for once a second (what the UI's debounced refresh does); the process's CPU during that window is reported.
Peak RSS is the process's. Prints one JSON object.

    .venv/bin/python bench/insights.py [--messages 300000] [--cold 5] [--warm 50] [--stream-s 20] [--rate 20]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, demo_source

from backend.config import Settings
from backend.db.engine import create_db_engine
from backend.db.migrate import upgrade
from backend.insights import service
from backend.insights.stats import cache
from backend.live.hub import MessageHub
from backend.mirror.importer import import_source
from backend.source.demo.live import LiveSourceWriter
from backend.sync.service import LiveSync


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def timed(fn, runs: int, *, cold: bool) -> dict:
    times = []
    for _ in range(runs):
        if cold:
            cache.clear()
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return {"runs": runs, "p50_ms": round(statistics.median(times), 1), "p95_ms": round(percentile(times, 95), 1),
            "max_ms": round(max(times), 1)}


def prepared(messages: int) -> tuple[Settings, Path]:
    """A data dir with the source imported (kept between runs) and a private copy of the source to write to."""
    source, _ = demo_source(messages, max(6, messages // 1000), max(16, messages // 300))
    data = CACHE / f"insights-data-{messages}"
    settings = Settings(data_dir=data)
    if not (data / "imported.json").exists():
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(source, data / "source")
        summary = import_source(settings, source=data / "source" / "chat.db",
                                addressbook_dir=data / "source" / "AddressBook")
        (data / "imported.json").write_text(json.dumps(summary.to_json()))
    return settings, data / "source"


def stream(settings: Settings, engine, source: Path, *, seconds: float, rate: float) -> dict:
    """Writes at `rate`/s, syncs and asks for the overview once a second; CPU of this process meanwhile."""
    sync = LiveSync(settings, engine, source=source / "chat.db", addressbook_dir=source / "AddressBook",
                    hub=MessageHub())
    sync.run_pass()
    stop = threading.Event()
    written = [0]

    def write() -> None:
        with LiveSourceWriter(source / "chat.db", seed=int(time.time())) as writer:
            while not stop.is_set():
                start = time.perf_counter()
                writer.write_burst(int(rate), spacing_s=1 / rate)
                written[0] += int(rate)
                stop.wait(max(0.0, 1 - (time.perf_counter() - start)))

    writer = threading.Thread(target=write, daemon=True)
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    writer.start()
    overview_ms, sync_ms, totals = [], [], []
    while time.perf_counter() - started < seconds:
        tick = time.perf_counter()
        sync.run_pass()
        sync_ms.append((time.perf_counter() - tick) * 1000)
        t = time.perf_counter()
        totals.append(service.overview(engine, service.make_period("all")).messages.total)
        overview_ms.append((time.perf_counter() - t) * 1000)
        time.sleep(max(0.0, 1 - (time.perf_counter() - tick)))
    stop.set()
    writer.join()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": round(wall, 1), "rate_per_s": rate, "written": written[0],
            "overview_total_grew_by": totals[-1] - totals[0] if totals else 0,
            "cpu_percent_of_one_core": round(100 * cpu / wall, 1),
            "sync_pass_p50_ms": round(statistics.median(sync_ms), 1),
            "overview_p50_ms": round(statistics.median(overview_ms), 1),
            "overview_p95_ms": round(percentile(overview_ms, 95), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--warm", type=int, default=50)
    parser.add_argument("--stream-s", type=float, default=20)
    parser.add_argument("--rate", type=float, default=20)
    args = parser.parse_args()

    settings, source = prepared(args.messages)
    engine = create_db_engine(settings.central_db_path)
    upgrade(engine)
    everything = service.make_period("all")
    top = service.top_people(engine, everything, limit=1)[0]
    year = service.list_years(engine).years[-2]  # the last full year
    calls = {
        "overview_all": lambda: service.overview(engine, everything),
        "overview_30d": lambda: service.overview(engine, service.make_period("30d")),
        "person_all": lambda: service.person_stats(engine, top.contact_id, everything),
        "year": lambda: service.year_review(engine, year),
    }
    result: dict = {"messages": args.messages, "person_contact_id": top.contact_id, "review_year": year,
                    "machine_load_1m": round(__import__("os").getloadavg()[0], 2)}
    for name, fn in calls.items():
        result[name] = {"cold": timed(fn, args.cold, cold=True)} if args.cold else {}
        result[name]["warm"] = timed(fn, args.warm, cold=False)
    if args.stream_s > 0:
        result["live_stream"] = stream(settings, engine, source, seconds=args.stream_s, rate=args.rate)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Live-sync latency: source commit -> SSE client, at a steady rate and for a 5,000-message burst.

Runs `chatstats serve` (the API with its watcher thread) over a copy of a generated source that was
imported first, opens the SSE stream of one chat, and writes to chat.db the way Messages does.
Latency is the wall time from the writer's COMMIT returning to the SSE frame being parsed by the
client (same machine, same clock). Also reports the idle API process's CPU. Prints one JSON object.

The reference app in this field polls every 50 ms and then waits 75 ms more: ~100 ms on average.

    .venv/bin/python bench/live_latency.py [--messages 300000] [--rate 20] [--count 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import demo_source


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


class StreamClient(threading.Thread):
    """Reads one SSE stream and notes when each message.created arrived (by guid)."""

    def __init__(self, client: httpx.Client, path: str) -> None:
        super().__init__(daemon=True)
        self.client, self.path = client, path
        self.arrived: dict[str, float] = {}
        self.duplicates = 0
        self.ready = threading.Event()

    def run(self) -> None:
        try:
            self._read()
        except httpx.HTTPError:  # the server stops at the end of the run
            pass

    def _read(self) -> None:
        with self.client.stream("GET", self.path, timeout=None) as response:
            event, data = None, None
            for line in response.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data = line[5:].strip()
                elif line == "" and event:
                    if event == "snapshot":
                        self.ready.set()
                    elif event == "message.created":
                        guid = json.loads(data)["message"]["guid"]
                        if guid in self.arrived:
                            self.duplicates += 1
                        else:
                            self.arrived[guid] = time.time()
                    event, data = None, None


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--contacts", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--count", type=int, default=100, help="messages per steady run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--burst", type=int, default=5_000)
    args = parser.parse_args()

    template, _summary = demo_source(args.messages, args.chats, args.contacts)
    work = Path(tempfile.mkdtemp(prefix="chatstats-live-bench-"))
    source = work / "source"
    shutil.copytree(template, source)
    env = {**os.environ, "CHATSTATS_DATA_DIR": str(work / "data"), "CHATSTATS_LOG_LEVEL": "WARNING",
           "CHATSTATS_SOURCE_CHAT_DB": str(source / "chat.db"), "CHATSTATS_ADDRESSBOOK_DIR": str(source / "AddressBook")}
    subprocess.run([sys.executable, "-m", "backend.cli.main", "import", "--source", str(source / "chat.db")],
                   env=env, check=True, capture_output=True)
    server = subprocess.Popen([sys.executable, "-m", "backend.cli.main", "serve"], env=env, stdout=subprocess.PIPE,
                              text=True)
    try:
        ready = json.loads(server.stdout.readline())
        client = httpx.Client(base_url=ready["url"], headers={"Authorization": f"Bearer {ready['token']}"})
        wait_until(lambda: client.get("/api/live-sync/status").json().get("passes"), 30)

        from backend.source.demo.live import LiveSourceWriter

        with LiveSourceWriter(source / "chat.db", seed=77) as writer:
            chat_guid = writer.chat_guids()[0]
            import sqlite3

            chat_id = sqlite3.connect(work / "data" / "central.db").execute(
                "SELECT chat_id FROM chat_sources WHERE source_guid = ?", (chat_guid,)).fetchone()[0]
            stream = StreamClient(client, f"/api/live-sync/stream/chat/{chat_id}/messages")
            stream.start()
            stream.ready.wait(30)

            runs = []
            for _ in range(args.runs):
                committed: dict[str, float] = {}
                interval = 1.0 / args.rate
                next_at = time.monotonic()
                for _ in range(args.count):
                    next_at += interval
                    time.sleep(max(0.0, next_at - time.monotonic()))
                    guid = writer.write_message(chat_guid=chat_guid)
                    committed[guid] = time.time()
                wait_until(lambda: all(g in stream.arrived for g in committed), 10)  # noqa: B023 - called within this iteration
                latencies = [(stream.arrived[g] - t) * 1000 for g, t in committed.items() if g in stream.arrived]
                runs.append({"sent": len(committed), "received": len(latencies),
                             "p50_ms": round(percentile(latencies, 50), 2), "p99_ms": round(percentile(latencies, 99), 2),
                             "max_ms": round(max(latencies), 2)})

            guids = writer.write_burst(args.burst, chat_guid=chat_guid, spacing_s=0.01)
            burst_committed = time.time()
            wait_until(lambda: all(g in stream.arrived for g in guids), 30)
            received = [g for g in guids if g in stream.arrived]
            burst_seconds = max(stream.arrived[g] for g in received) - burst_committed if received else None

        time.sleep(1.0)
        process = psutil.Process(server.pid)
        before = process.cpu_times()
        time.sleep(10.0)
        after = process.cpu_times()
        idle_cpu = ((after.user + after.system) - (before.user + before.system)) / 10.0
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)

    print(json.dumps({
        "benchmark": "live_latency",
        "mirror_messages": args.messages,
        "rate_per_s": args.rate,
        "runs": runs,
        "median_p50_ms": statistics.median(r["p50_ms"] for r in runs),
        "median_p99_ms": statistics.median(r["p99_ms"] for r in runs),
        "target_p50_ms": 25, "target_p99_ms": 100,
        "reference_app_mean_ms": 100, "ratio_p50_to_reference": round(statistics.median(r["p50_ms"] for r in runs) / 100, 3),
        "burst": {"messages": args.burst, "received": len(received), "duplicates": stream.duplicates,
                  "seconds_to_last": round(burst_seconds, 3) if burst_seconds is not None else None,
                  "target_seconds": 3.0},
        "idle_cpu_fraction_of_core": round(idle_cpu, 4), "target_idle_cpu": 0.01,
    }, indent=2))


if __name__ == "__main__":
    main()

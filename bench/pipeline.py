"""The process pipeline: `chatstats up --demo` from spawn to its ready line (redis, API, both Celery
workers answering a ping, beat), over a data dir whose demo source was generated and imported by a
first run, so it measures start-up (with the in-place import pass), not the first import. The first run
(a fresh data dir: generating and importing the demo source, then start-up) is timed on its own. Also
notes how long a SIGTERM takes to stop everything, and the machine's load average before and after
(a figure taken with a load average above the number of cores is a loaded machine's). Prints one JSON object.

Targets (issue 18): warm up-to-ready median <= 3 s; first run with the 20k demo <= 8 s.

    .venv/bin/python bench/pipeline.py [--runs 5] [--messages 20000]

Each measure is a function (args) -> dict of keys merged into the output; add one to MEASURES.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, ROOT

UP = [sys.executable, "-m", "backend.cli.main", "up", "--demo"]
READY_TIMEOUT_S = 120.0


def data_dir_for(messages: int) -> Path:
    return CACHE / f"pipeline-{messages}"


def up_env(data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHATSTATS_")}
    return {**env, "CHATSTATS_DATA_DIR": str(data_dir), "CHATSTATS_SOURCE_CHAT_DB": str(data_dir / "no-chat.db"),
            "CHATSTATS_LOG_LEVEL": "WARNING", "CHATSTATS_START_TIMEOUT_S": "0"}  # a slow start is measured, not failed


def _role(cmdline: list[str]) -> str:
    joined = " ".join(cmdline)
    for marker, role in (("redis-server", "redis"), (" serve", "api"), ("io@", "worker-io"), ("db@", "worker-db"),
                         (" beat", "beat")):
        if marker in joined:
            return role
    return "other"


def cpu_by_process(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) each part of `chatstats up` has used so far: the supervisor and every
    child, a worker's pool processes counted with it. Where a start-up's time goes on a loaded machine."""
    import psutil

    root = psutil.Process(pid)
    times = root.cpu_times()
    cpu = {"supervisor": times.user + times.system}
    for child in root.children(recursive=True):
        try:
            times, role = child.cpu_times(), _role(child.cmdline())
        except psutil.Error:
            continue
        cpu[role] = cpu.get(role, 0.0) + times.user + times.system
    return {role: round(seconds, 2) for role, seconds in sorted(cpu.items())}


def run_up_once(data_dir: Path, *, messages: int) -> tuple[float, float, dict[str, float]]:
    """(seconds from spawn to the ready line, seconds from SIGTERM to exit, CPU seconds used until ready)."""
    log_path = data_dir.parent / f"{data_dir.name}.log"
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen([*UP, "--demo-messages", str(messages)], stdout=subprocess.PIPE, stderr=log,
                                   env=up_env(data_dir))
    try:
        line = process.stdout.readline()  # the first stdout line is the ready line, or nothing
        ready_s = time.perf_counter() - started
        if not line or json.loads(line).get("event") != "ready":
            raise SystemExit(f"chatstats up did not get ready (exit {process.poll()}); see {log_path}")
        cpu = cpu_by_process(process.pid)
        stopping = time.perf_counter()
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        return ready_s, time.perf_counter() - stopping, cpu
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def up_to_ready(args: argparse.Namespace) -> dict:
    data_dir = data_dir_for(args.messages)
    data_dir.mkdir(parents=True, exist_ok=True)
    # bytecode, as an installed package has it (a shell with PYTHONDONTWRITEBYTECODE=1 never writes it;
    # without it every process recompiles the backend's modules: ~0.5 s more here)
    compileall.compile_dir(str(ROOT / "app" / "backend"), quiet=1)
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    first_s, _stop, first_cpu = run_up_once(data_dir, messages=args.messages)  # generates and imports the demo
    ready, stops, cpus = [], [], []
    for _ in range(args.runs):
        ready_s, stop_s, cpu = run_up_once(data_dir, messages=args.messages)
        ready.append(round(ready_s, 3))
        stops.append(round(stop_s, 3))
        cpus.append(cpu)
    cpu_median = {role: statistics.median(run.get(role, 0.0) for run in cpus) for role in sorted(set().union(*cpus))}
    return {"messages": args.messages, "first_run_s": round(first_s, 3), "first_run_cpu_s": first_cpu,
            "up_to_ready_median_s": round(statistics.median(ready), 3), "runs": ready,
            "cpu_to_ready_median_s": cpu_median, "cpu_to_ready_total_s": round(sum(cpu_median.values()), 2),
            "stop_median_s": round(statistics.median(stops), 3)}


def event_relay(args: argparse.Namespace) -> dict:
    """Outbox row committed -> EventBus handler invoked, through a real redis-server (bench/relay.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from relay import relay_latency

    return {"event_relay": relay_latency(count=300)}


MEASURES: list[Callable[[argparse.Namespace], dict]] = [up_to_ready, event_relay]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--messages", type=int, default=20_000, help="size of the demo source")
    args = parser.parse_args()
    result: dict = {"benchmark": "pipeline", "cores": os.cpu_count(), "load_average_before": os.getloadavg()[0]}
    for measure in MEASURES:
        result.update(measure(args))
    result["load_average_after"] = os.getloadavg()[0]
    result["loaded"] = max(result["load_average_before"], result["load_average_after"]) > (os.cpu_count() or 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

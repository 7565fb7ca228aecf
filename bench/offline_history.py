"""`offline_history`: a generated source analysed end to end by `chatstats up` with the offline analyzer.

`chatstats up --source <demo chat.db>` on a fresh data dir imports the source, becomes ready, and starts the
history analysis by itself (no command). Measured: import time, the analysis from the ready line until the
coverage API says every analysable conversation is analysed (conversations per second, minutes), the CPU
each process of `up` spent per analysed conversation (worker-db, worker-io, api, redis, beat, the
supervisor), and the inbox API's latency (GET /api/chats) sampled while the analysis runs (p50, p95).

    .venv/bin/python bench/analysis.py --only offline_history [--history-messages 20000]
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
from common import ROOT, demo_source

PYTHON = sys.executable
POLL_S = 1.0
INBOX_EVERY_S = 0.5
CHILD_MARKERS = {"api": "backend.cli.main serve", "worker-io": "-n io@", "worker-db": "-n db@",
                 "beat": "celerybeat-schedule", "redis": "redis-server"}


def _cpu_by_child(up: psutil.Process) -> dict[str, float]:
    """CPU seconds of each child of `up` (with its own children: prefork pools), and of `up` itself."""
    found: dict[str, float] = {"supervisor": sum(up.cpu_times()[:2])}
    for child in up.children():
        try:
            command = " ".join(child.cmdline())
            name = next((n for n, marker in CHILD_MARKERS.items() if marker in command), "other")
            tree = [child, *child.children(recursive=True)]
            found[name] = found.get(name, 0.0) + sum(sum(p.cpu_times()[:2]) for p in tree)
        except psutil.Error:
            continue
    return found


def measure_offline_history(messages: int, chats: int, contacts: int, *, timeout_s: float = 3600) -> dict[str, Any]:
    source, summary = demo_source(messages, chats, contacts)
    data = Path(tempfile.mkdtemp(prefix="cs-oh-", dir="/tmp"))  # short: the redis socket path is limited
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATSTATS_")}
    env.update({"CHATSTATS_DATA_DIR": str(data), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "CHATSTATS_SOURCE_CHAT_DB": str(source / "chat.db"), "CHATSTATS_START_TIMEOUT_S": "600",
                "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "app"), str(ROOT)) if p)})
    started = time.monotonic()
    process = subprocess.Popen([PYTHON, "-m", "backend.cli.main", "up", "--source", str(source / "chat.db")],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ready = json.loads(process.stdout.readline())
        ready_s = time.monotonic() - started
        url, headers = ready["url"], {"Authorization": f"Bearer {ready['token']}"}
        client = httpx.Client(base_url=url, headers=headers, timeout=30, trust_env=False)
        up = psutil.Process(process.pid)
        cpu_before = _cpu_by_child(up)
        inbox_ms: list[float] = []
        stop = threading.Event()

        def sample_inbox() -> None:
            inbox = httpx.Client(base_url=url, headers=headers, timeout=30, trust_env=False)
            while not stop.wait(INBOX_EVERY_S):
                at = time.perf_counter()
                if inbox.get("/api/chats", params={"limit": 50}).status_code == 200:
                    inbox_ms.append((time.perf_counter() - at) * 1000)

        sampler = threading.Thread(target=sample_inbox, daemon=True)
        sampler.start()
        analysis_started = time.monotonic()
        coverage: dict[str, Any] = {}
        while time.monotonic() - analysis_started < timeout_s:
            coverage = client.get("/api/analysis/coverage").json()
            if coverage["total"] and coverage["remaining"] == 0:
                break
            time.sleep(POLL_S)
        analysis_s = time.monotonic() - analysis_started
        cpu_after = _cpu_by_child(up)
        stop.set()
        sampler.join(5)
        done = coverage.get("analysed", 0)
        cpu_ms = {name: round((cpu_after.get(name, 0.0) - cpu_before.get(name, 0.0)) * 1000 / max(done, 1), 2)
                  for name in cpu_after}
        inbox = sorted(inbox_ms)
        return {
            "source_messages": messages, "conversations": coverage.get("total"), "analysed": done,
            "complete": coverage.get("remaining") == 0, "import_and_start_s": round(ready_s, 1),
            "analysis_s": round(analysis_s, 1), "conversations_per_s": round(done / analysis_s, 1),
            "minutes": round(analysis_s / 60, 2),
            "cpu_ms_per_conversation": {**cpu_ms, "total": round(sum(cpu_ms.values()), 2)},
            "inbox_ms": {"samples": len(inbox), "p50": round(statistics.median(inbox), 1) if inbox else None,
                         "p95": round(inbox[int(0.95 * (len(inbox) - 1))], 1) if inbox else None},
            "source_summary": {k: summary.get(k) for k in ("messages", "chats", "contacts") if k in summary},
        }
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(data, ignore_errors=True)

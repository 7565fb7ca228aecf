"""Analysis throughput. Prints one JSON object.

(a) Model calls against the fake OpenAI-compatible provider (tests/fakes/openai_server.py, in its own
    process) answering after `--latency` seconds, `--in-flight` calls at once, every call through the
    gateway (`backend.llm.complete_json`, limits in force with max concurrency = in-flight, no rate limit,
    no cache hits). The bound is in_flight / latency (100 / 0.3 s = 333 calls/s); reported as a ratio.
    - `gateway_greenlets`: one process, gevent-patched, `--in-flight` greenlets calling the gateway.
    - `gateway_threads`: the same with a thread pool.
    - `celery_call_llm`: the real `llm.call_llm` task (reads the job and conversation, renders the prompt,
      calls, sends `analysis.persist_result`) on a real worker-io (`celery worker -P gevent -c <in-flight>`
      with the flags `chatstats up` gives it) over a private Redis; timed from the first send until the
      gateway logged N successful calls.
    - `celery_analysis`: the same with worker-db running too, as in `chatstats up`, timed until
      `analysis.persist_result` finished the N jobs: conversations analysed per second, end to end.
(b) `persist_result`: the single writer's stage two for N prepared payloads (jobs of demo conversations,
    fake-model data), results/s. Target >= 1000/s.
(c) `offline_history`: `chatstats up` on a fresh data dir analyses a whole generated source by itself with the
    offline analyzer (bench/offline_history.py): conversations/s, minutes, CPU ms per conversation by process,
    inbox p95 while it runs. `--history-messages` sets the source size (300,000 is the issue's target).

Each figure is the median of `--runs` runs (the list of runs is reported too). With the rates come the CPU
seconds each call cost the measured process (`cpu_ms_per_call`: the gateway child, or the Celery worker) and
the fake provider (`provider_cpu_ms_per_call`): a Python process runs on one core at a time (the GIL, or
gevent's one thread), so 1000 / cpu_ms_per_call is the most it can do (`one_core_calls_per_s`), whatever
the latency and the number in flight; on a shared machine it gets less than a whole core.

    .venv/bin/python bench/analysis.py [--runs 3] [--calls 1000] [--in-flight 100] [--latency 0.3]
        [--persist 500] [--only gateway_greenlets,persist]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, demo_source

sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
FAKE_SERVER = """
import sys, time
from tests.fakes.openai_server import FakeOpenAI
from tests.analysis_faults.provider import schema_responder
fake = FakeOpenAI(latency_s=float(sys.argv[1]), responder=schema_responder).start()
print(fake.url, flush=True)
sys.stdin.read()
"""
MEASURES = ("gateway_greenlets", "gateway_threads", "celery_call_llm", "celery_analysis", "persist",
            "offline_history")
SOURCE = (20000, 40, 150)  # messages, chats, contacts of the demo source (about 2,000 conversations)


def env_for(data_dir: Path, api_base: str, in_flight: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "CHATSTATS_DATA_DIR": str(data_dir), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "CHATSTATS_LLM_MODEL": "openai/bench-model", "CHATSTATS_LLM_API_BASE": api_base,
        "CHATSTATS_LLM_API_KEY": "sk-bench", "CHATSTATS_LLM_MAX_CONCURRENCY": str(in_flight),
        "CHATSTATS_LLM_REQUESTS_PER_MINUTE": "0",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), str(ROOT / "app"), env.get("PYTHONPATH", "")) if p),
    })
    env.pop("CHATSTATS_REDIS_URL", None)
    return env


class FakeProvider:
    """The fake provider in a child process (so it does not share the measured process's GIL)."""

    def __init__(self, latency_s: float) -> None:
        self.process = subprocess.Popen([PYTHON, "-c", FAKE_SERVER, str(latency_s)], cwd=ROOT, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        env={**os.environ, "PYTHONPATH": str(ROOT)})
        self.url = self.process.stdout.readline().strip()

    def cpu_s(self) -> float:
        """CPU seconds the fake provider has used so far (its own work per call, on the same cores)."""
        return _cpu_s(self.process.pid)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(10)


def _cpu_s(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and its children now alive (a prefork worker and its pool)."""
    import psutil

    process = psutil.Process(pid)
    return sum(_cpu_s(p.pid) for p in [process, *process.children(recursive=True)])


# ---- (a) the gateway alone, in a child process -----------------------------------------------------------

def gateway_child(mode: str, calls: int, in_flight: int) -> None:
    """Runs in a child process: `calls` unique complete_json calls with `in_flight` at once; prints calls/s."""
    if mode == "greenlets":
        from gevent import monkey

        monkey.patch_all()
    from backend.config import get_settings
    from backend.db import migrate
    from backend.db.engine import get_engine
    from backend.llm import complete_json

    engine = get_engine(get_settings().central_db_path)
    migrate.upgrade(engine)
    schema = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}

    def one(i: int) -> None:
        complete_json(model=get_settings().llm_model, messages=[{"role": "user", "content": f"Summarise {i}"}],
                      schema=schema, prompt_id="bench", prompt_version="1", use_cache=False, engine=engine)

    def run(indices: range) -> float:
        started = time.perf_counter()
        if mode == "greenlets":
            from gevent.pool import Pool

            Pool(in_flight).map(one, indices)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(in_flight) as pool:
                list(pool.map(one, indices))
        return time.perf_counter() - started

    run(range(-in_flight, 0))  # warm-up: LiteLLM's first call, connections
    cpu = time.process_time()  # every thread of this process
    elapsed = run(range(calls))
    print(json.dumps({"calls_per_s": calls / elapsed, "cpu_ms_per_call": (time.process_time() - cpu) * 1000 / calls}))


def measure_gateway(mode: str, args: argparse.Namespace, provider: FakeProvider) -> dict[str, Any]:
    rates, cpu, provider_cpu = [], [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            provider_before = provider.cpu_s()
            out = subprocess.run([PYTHON, __file__, "--child", mode, "--calls", str(args.calls),
                                  "--in-flight", str(args.in_flight)], cwd=tmp, capture_output=True, text=True,
                                 env=env_for(Path(tmp) / "data", provider.url, args.in_flight), check=False)
            if out.returncode != 0:
                raise RuntimeError(f"gateway child failed:\n{out.stderr[-3000:]}")
            child = json.loads(out.stdout.strip().splitlines()[-1])
            rates.append(child["calls_per_s"])
            cpu.append(child["cpu_ms_per_call"])
            provider_cpu.append((provider.cpu_s() - provider_before) * 1000 / (args.calls + args.in_flight))
    return _rate_summary(rates, args, cpu, provider_cpu)


def _rate_summary(rates: list[float], args: argparse.Namespace, cpu: list[float],
                  provider_cpu: list[float]) -> dict[str, Any]:
    bound = args.in_flight / args.latency
    median = statistics.median(rates)
    cpu_ms = statistics.median(cpu)
    return {"calls_per_s": round(median, 1), "bound_calls_per_s": round(bound, 1),
            "ratio": round(median / bound, 3), "runs": [round(r, 1) for r in rates],
            "cpu_ms_per_call": round(cpu_ms, 2), "one_core_calls_per_s": round(1000 / cpu_ms, 1),
            "provider_cpu_ms_per_call": round(statistics.median(provider_cpu), 2)}


# ---- (a) the Celery path ------------------------------------------------------------------------------------

def imported_data_dir(tmp: Path) -> Path:
    """A data dir with the demo source imported (central.db at head)."""
    data = tmp / "data"
    source, _ = demo_source(*SOURCE)
    code = ("from pathlib import Path; from backend.config import get_settings; "
            "from backend.mirror.importer import import_source; "
            "from backend.db import migrate; from backend.db.engine import get_engine; s = get_settings(); "
            "migrate.upgrade(get_engine(s.central_db_path)); "
            f"import_source(s, source=Path({str(source / 'chat.db')!r}), "
            f"addressbook_dir=Path({str(source / 'AddressBook')!r}))")
    subprocess.run([PYTHON, "-c", code], cwd=tmp, check=True, env=env_for(data, "", 1), capture_output=True)
    return data


def create_jobs(data: Path, *, passes: list[str], revisions: range) -> list[int]:
    """Queued jobs of every conversation for these passes and revisions (one transaction)."""
    import sqlite3

    conn = sqlite3.connect(data / "central.db")
    with conn:
        conversations = [r[0] for r in conn.execute("SELECT id FROM conversations ORDER BY id")]
        ids = [conn.execute(
            "INSERT INTO analysis_jobs (conversation_id, pass_name, prompt_version, revision, created_at, "
            "updated_at) VALUES (?, ?, '1', ?, 0, 0) RETURNING id", (c, p, r)).fetchone()[0]
            for r in revisions for p in passes for c in conversations]
    conn.close()
    return ids


def measure_celery(args: argparse.Namespace, provider: FakeProvider, *, writer: bool = False) -> dict[str, Any]:
    """`llm.call_llm` on worker-io, timed until the gateway logged the calls; with `writer`, worker-db runs too
    (as in `chatstats up`) and the time is until `analysis.persist_result` finished the jobs."""
    import sqlite3

    from backend.worker.redis_server import start_redis

    rates, cpu, provider_cpu, writer_cpu = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = imported_data_dir(tmp)
        jobs = create_jobs(data, passes=["basic", "commitments"], revisions=range(1, 2))
        per_run = min(args.calls, (len(jobs) - args.in_flight) // args.runs)
        redis = start_redis(data)
        env = {**env_for(data, provider.url, args.in_flight), "CHATSTATS_REDIS_URL": redis.url}
        os.environ["CHATSTATS_REDIS_URL"] = redis.url
        os.environ["CHATSTATS_DATA_DIR"] = str(data)
        from backend.config import reset_settings_cache

        reset_settings_cache()
        from backend.supervisor.specs import db_worker_argv, io_worker_argv
        from backend.worker import task_refs
        from backend.worker.celery_app import create_celery

        app = create_celery()
        log = open(tmp / "worker.log", "wb")  # noqa: SIM115
        commands = {"io": io_worker_argv(concurrency=args.in_flight, worker_queues=("llm",), nodename="bench@%h")}
        if writer:
            commands["db"] = db_worker_argv(nodename="benchdb@%h")
        workers = {name: subprocess.Popen(command, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
                   for name, command in commands.items()}  # as `chatstats up` starts them
        db = sqlite3.connect(data / "central.db", timeout=30)
        count_sql = ("SELECT count(*) FROM analysis_jobs WHERE status = 'done'" if writer else
                     "SELECT count(*) FROM llm_calls WHERE status IN ('ok', 'cached')")

        def finished() -> int:
            return db.execute(count_sql).fetchone()[0]

        def run(batch: list[int]) -> float:
            before = finished()
            started = time.perf_counter()
            for job_id in batch:
                task_refs.CALL_LLM.send(app, job_id)
            while finished() < before + len(batch):
                if any(worker.poll() is not None for worker in workers.values()):
                    raise RuntimeError(f"a worker exited:\n{(tmp / 'worker.log').read_text()[-3000:]}")
                if time.perf_counter() - started > 300:
                    raise RuntimeError(f"stalled at {finished() - before}/{len(batch)}")
                time.sleep(0.05)
            return time.perf_counter() - started

        try:
            run(jobs[:args.in_flight])  # warm-up: the worker imports LiteLLM on its first call
            for i in range(args.runs):
                batch = jobs[args.in_flight + i * per_run: args.in_flight + (i + 1) * per_run]
                before = {name: _tree_cpu_s(worker.pid) for name, worker in workers.items()}
                provider_before = provider.cpu_s()
                rates.append(len(batch) / run(batch))
                cpu.append((_tree_cpu_s(workers["io"].pid) - before["io"]) * 1000 / len(batch))
                provider_cpu.append((provider.cpu_s() - provider_before) * 1000 / len(batch))
                if writer:  # with the prefork pool's child, which does the writing
                    writer_cpu.append((_tree_cpu_s(workers["db"].pid) - before["db"]) * 1000 / len(batch))
        finally:
            for worker in workers.values():
                worker.terminate()
            for worker in workers.values():
                worker.wait(20)
            log.close()
            app.close()
            redis.stop()
            db.close()
    summary = {**_rate_summary(rates, args, cpu, provider_cpu), "calls_per_run": per_run}
    if writer:
        summary["writer_cpu_ms_per_result"] = round(statistics.median(writer_cpu), 2)
    return summary


# ---- (b) persist_result --------------------------------------------------------------------------------------

def measure_persist(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = imported_data_dir(tmp)
        out = subprocess.run([PYTHON, __file__, "--child", "persist", "--persist", str(args.persist),
                              "--runs", str(args.runs)], cwd=tmp, capture_output=True, text=True,
                             env=env_for(data, "", 1), check=False)
        if out.returncode != 0:
            raise RuntimeError(f"persist child failed:\n{out.stderr[-3000:]}")
        rates = json.loads(out.stdout.strip().splitlines()[-1])["results_per_s"]
    return {"results_per_s": round(statistics.median(rates), 1), "target_results_per_s": 1000,
            "results_per_run": args.persist, "runs": [round(r, 1) for r in rates]}


def persist_child(count: int, runs: int) -> None:
    """Runs in a child process over an imported data dir: persist_result for `count` payloads, `runs` times."""
    from backend.analysis import passes, persist
    from backend.analysis.context import conversation_context
    from backend.config import get_settings
    from backend.db.engine import get_engine
    from backend.db.session import session_scope
    from backend.prompts import load_prompt
    from tests.fakes.openai_server import example_for

    engine = get_engine(get_settings().central_db_path)
    data = Path(get_settings().central_db_path).parent
    per_pass = {p.name: example_for(load_prompt(p.prompt_id).result_schema)
                for p in (passes.BASIC, passes.COMMITMENTS)}
    jobs = create_jobs(data, passes=list(per_pass), revisions=range(1, 2))
    assert len(jobs) >= runs * count, f"only {len(jobs)} jobs for {runs} x {count} results"
    contexts: dict[int, Any] = {}
    rates = []
    for run in range(runs):
        batch = jobs[run * count:(run + 1) * count]
        payloads = []
        with session_scope(engine) as conn:
            for job_id in batch:
                job = dict(conn.execute(_JOB_SQL, {"id": job_id}).mappings().one())
                if job["conversation_id"] not in contexts:
                    contexts[job["conversation_id"]] = conversation_context(conn, job["conversation_id"])
                ctx = contexts[job["conversation_id"]]
                payloads.append((job_id, {
                    "job_id": job_id, "pass_name": job["pass_name"], "conversation_id": ctx.conversation_id,
                    "chat_id": ctx.chat_id, "revision": job["revision"], "prompt_id": "bench",
                    "prompt_version": "1", "model": "openai/bench-model", "completion_id": f"c-{job_id}",
                    "tokens_in": 100, "tokens_out": 50, "cost_usd": 0.0, "cached": False,
                    "estimated_tokens": 100, "contact_ids": ctx.contact_ids, "data": per_pass[job["pass_name"]],
                }))
        started = time.perf_counter()
        for job_id, payload in payloads:
            assert persist.persist_result(engine, job_id, payload)
        rates.append(len(payloads) / (time.perf_counter() - started))
    print(json.dumps({"results_per_s": rates}))


_JOB_SQL = __import__("sqlalchemy").text("SELECT * FROM analysis_jobs WHERE id = :id")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--persist", type=int, default=500)
    parser.add_argument("--history-messages", type=int, default=20_000,
                        help="offline_history: messages of the source `chatstats up` analyses whole")
    parser.add_argument("--only", default=",".join(MEASURES))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "persist":
        persist_child(args.persist, args.runs)
        return
    if args.child:
        gateway_child(args.child, args.calls, args.in_flight)
        return
    only = [m for m in args.only.split(",") if m]
    result: dict[str, Any] = {"latency_s": args.latency, "in_flight": args.in_flight, "runs": args.runs,
                              "cpus": os.cpu_count()}
    provider = FakeProvider(args.latency) if any(m not in ("persist", "offline_history") for m in only) else None
    try:
        for name in only:
            try:
                if name == "persist":
                    result[name] = measure_persist(args)
                elif name == "offline_history":
                    from offline_history import measure_offline_history

                    messages = args.history_messages
                    result[name] = measure_offline_history(messages, max(6, messages // 500), max(20, messages // 130))
                elif name == "celery_call_llm":
                    result[name] = measure_celery(args, provider)
                elif name == "celery_analysis":
                    result[name] = measure_celery(args, provider, writer=True)
                else:
                    result[name] = measure_gateway(name.removeprefix("gateway_"), args, provider)
            except Exception as exc:  # noqa: BLE001 - report the other measures all the same
                result[name] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
    finally:
        if provider is not None:
            provider.close()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

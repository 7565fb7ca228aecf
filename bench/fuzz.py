"""Fuzz the blob decoders with mutated real blobs. Prints one JSON object.

For each decoder, `--iterations` mutations (bit flips, tag bytes such as 0x81/0x82/0x87/0x84/0x92 written
over a byte, inserted, deleted, duplicated and spliced slices, truncations, large integers written in)
of a corpus:
- attributed_body: the real attributedBody blobs in ../shared/testdata (imessage-exporter/typedstream),
  plus bodies our encoder writes (attachments, mentions, links, several parts) and two hostile ones
  (tests/hostile_blobs.py: a dictionary that contains itself, one over MAX_VISITS);
- summary_info: the real message_summary_info plists (imessage-exporter/edited_message), plus encoded ones;
- keyed_archive: NSKeyedArchiver bodies from keyed_archive.encode_keyed_string (no real one was captured),
  plus a hostile one (tests/hostile_blobs.py: arrays sharing their items).

Reported per decoder: `unexpected` (exceptions outside the decoder's contract: any exception from
decode_attributed_body / decode_summary_info, whose contract is never to raise, and any safety-net error
message, which means an internal exception was caught; for keyed_archive, anything but KeyedArchiveError),
`slow` (calls over 50 ms: a call that took longer on the clock is timed again, 3 times, and counts when
even its least CPU time of the thread is over 50 ms, so that a shared machine's scheduling stalls, which
stretch the wall clock of a few-ms call past 50, are not counted; `stalls` says how many calls were re-timed),
the slowest call (CPU time of the thread), calls per second, and the process's peak RSS. Targets: 0, 0.
Failing blobs are written as hex (the first 5) so they can become tests.

    .venv/bin/python bench/fuzz.py [--iterations 1000000] [--decoders attributed_body,summary_info,keyed_archive]
        [--seed 1] [--jobs 1] [--testdata ../shared/testdata]

`--jobs N` splits each decoder's iterations over N worker processes (job j mutates with the seed
"{seed}:{decoder}:{j}"; one job keeps the single-process seed "{seed}:{decoder}"); the counts are summed,
`peak_rss_mb` is the largest of the processes' peaks (each decodes alone, so it is one decoder's peak).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.hostile_blobs

from backend.source.attributed_body import AttachmentRef, decode_attributed_body, encode_attributed_body
from backend.source.keyed_archive import KeyedArchiveError, decode_keyed_string, encode_keyed_string
from backend.source.summary_info import decode_summary_info, encode_summary_info
from tests.hostile_blobs import over_visit_limit_body, self_referencing_body, shared_keyed_archive

SLOW_S = 0.05
SAFETY_NET = "could not be decoded"
TAGS = (0x00, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x91, 0x92, 0x93, 0xFF)


@dataclass
class Report:
    decoder: str
    calls: int = 0
    unexpected: list[str] = field(default_factory=list)
    slow: list[str] = field(default_factory=list)
    slowest_ms: float = 0.0
    seconds: float = 0.0
    stalls: int = 0

    def to_json(self) -> dict:
        return {"decoder": self.decoder, "calls": self.calls, "unexpected": len(self.unexpected),
                "slow_over_50ms": len(self.slow), "slowest_cpu_ms": round(self.slowest_ms, 2),
                "wall_clock_stalls_retimed": self.stalls,
                "calls_per_s": round(self.calls / self.seconds) if self.seconds else None,
                "examples_unexpected": self.unexpected[:5], "examples_slow": self.slow[:5]}


def load_corpus(testdata: Path) -> dict[str, list[bytes]]:
    typedstream = testdata / "imessage-exporter" / "typedstream"
    plists = testdata / "imessage-exporter" / "edited_message"
    bodies = [p.read_bytes() for p in sorted(typedstream.iterdir()) if p.suffix != ".json"]
    bodies += [
        encode_attributed_body("see \ufffc and \ufffc", attachments=[AttachmentRef("at_0_A", "a.jpg", None),
                                                                     AttachmentRef("at_1_B", None, None)]),
        encode_attributed_body("hey @Jane look", mentions=[(4, 5, "+15555550100")],
                               links=[(10, 4, "https://example.com/")]),
        encode_attributed_body("ünïcödé 🙂 text " * 8),
        self_referencing_body(),  # hostile attributes behind an intact string (issue 17)
        over_visit_limit_body(),
    ]
    summaries = [p.read_bytes() for p in sorted(plists.iterdir()) if p.suffix == ".plist"]
    summaries += [
        encode_summary_info(edits={0: [("one", 700000000.5), ("two", 700000100.25)]}),
        encode_summary_info(retracted_parts=[0, 1], part_ranges={0: (0, 3), 1: (3, 4)}),
    ]
    keyed = [
        encode_keyed_string("a keyed body"),
        encode_keyed_string("two 🙂 parts", [(4, {"__kIMMessagePartAttributeName": 0}),
                                            (8, {"__kIMMessagePartAttributeName": 1})]),
        encode_keyed_string("file \ufffc", [(5, {"__kIMMessagePartAttributeName": 0}),
                                            (1, {"__kIMFileTransferGUIDAttributeName": "at_0_X"})]),
        shared_keyed_archive(),  # hostile: arrays sharing their items, 2^18 references
    ]
    return {"attributed_body": bodies, "summary_info": summaries, "keyed_archive": keyed}


def mutate(rng: random.Random, blob: bytes, corpus: list[bytes]) -> bytes:
    data = bytearray(blob)
    for _ in range(rng.choice((1, 1, 1, 2, 3, 5))):
        if not data:
            data.extend(rng.randbytes(rng.randint(1, 16)))
        op = rng.randrange(9)
        at = rng.randrange(len(data))
        if op == 0:
            data[at] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[at] = rng.choice(TAGS)
        elif op == 2:
            data[at] = rng.randrange(256)
        elif op == 3:
            data[at:at] = rng.randbytes(rng.randint(1, 8))
        elif op == 4:
            del data[at:at + rng.randint(1, 16)]
        elif op == 5:
            end = min(len(data), at + rng.randint(1, 64))
            data[at:at] = data[at:end] * rng.randint(1, 4)
        elif op == 6:
            del data[rng.randrange(len(data) + 1):]
        elif op == 7:
            other = rng.choice(corpus)
            cut = rng.randrange(len(other) + 1)
            data[at:] = other[cut:]
        else:  # a large integer where a length or number was
            data[at:at + 1] = bytes((rng.choice((0x81, 0x82, 0x87)),)) + rng.randbytes(8)
    return bytes(data)


def _attributed_body(blob: bytes) -> str | None:
    body = decode_attributed_body(blob)
    body.to_json()
    return next((e for e in body.errors if SAFETY_NET in e), None)


def _summary_info(blob: bytes) -> str | None:
    info = decode_summary_info(blob)
    info.to_json()
    return next((e for e in info.errors if SAFETY_NET in e), None)


def _keyed_archive(blob: bytes) -> str | None:
    try:
        decode_keyed_string(blob)
    except KeyedArchiveError:
        pass
    return None


DECODERS: dict[str, Callable[[bytes], str | None]] = {
    "attributed_body": _attributed_body, "summary_info": _summary_info, "keyed_archive": _keyed_archive,
}


def fuzz_decoder(name: str, corpus: list[bytes], *, iterations: int, rng: random.Random) -> Report:
    decode = DECODERS[name]
    report = Report(name)
    clock = time.perf_counter
    cpu = time.thread_time
    started = clock()
    for _ in range(iterations):
        blob = mutate(rng, rng.choice(corpus), corpus)
        before, before_cpu = clock(), cpu()
        try:
            problem = decode(blob)
        except Exception as exc:  # noqa: BLE001 - exactly what is being counted
            problem = repr(exc)
        spent, spent_cpu = clock() - before, cpu() - before_cpu
        report.calls += 1
        if problem is not None:
            report.unexpected.append(f"{problem[:200]} :: {blob.hex()}")
        report.slowest_ms = max(report.slowest_ms, spent_cpu * 1000)
        if spent > SLOW_S:
            report.stalls += 1
            spent = min(_cpu_timed(decode, blob) for _ in range(3))
            if spent > SLOW_S:
                report.slow.append(f"{spent * 1000:.1f} ms CPU :: {blob.hex()}")
    report.seconds = clock() - started
    return report


def _cpu_timed(decode: Callable[[bytes], str | None], blob: bytes) -> float:
    before = time.thread_time()
    try:
        decode(blob)
    except Exception:  # noqa: BLE001 - counted on the first call
        pass
    return time.thread_time() - before


def _job(name: str, corpus: list[bytes], iterations: int, seed: str) -> tuple[Report, int]:
    """One worker's share: its report and the worker's peak RSS (KiB)."""
    report = fuzz_decoder(name, corpus, iterations=iterations, rng=random.Random(seed))
    return report, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def fuzz_in_parallel(name: str, corpus: list[bytes], *, iterations: int, seed: int,
                     pool: ProcessPoolExecutor, jobs: int) -> tuple[Report, int]:
    """`iterations` split over `jobs` processes of `pool`; the merged report and the largest peak RSS (KiB)."""
    shares = [iterations // jobs + (1 if j < iterations % jobs else 0) for j in range(jobs)]
    started = time.perf_counter()
    futures = [pool.submit(_job, name, corpus, share, f"{seed}:{name}:{j}") for j, share in enumerate(shares) if share]
    merged = Report(name)
    peak_kb = 0
    for future in futures:
        report, job_peak_kb = future.result()
        merged.calls += report.calls
        merged.unexpected += report.unexpected
        merged.slow += report.slow
        merged.slowest_ms = max(merged.slowest_ms, report.slowest_ms)
        merged.stalls += report.stalls
        peak_kb = max(peak_kb, job_peak_kb)
    merged.seconds = time.perf_counter() - started
    return merged, peak_kb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=1_000_000)
    parser.add_argument("--decoders", default=",".join(DECODERS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes per decoder (default 1: this one)")
    default_testdata = os.environ.get("CHATSTATS_TESTDATA_DIR") or str(
        Path(__file__).resolve().parents[2] / "shared" / "testdata")
    parser.add_argument("--testdata", default=default_testdata)
    args = parser.parse_args()
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    corpus = load_corpus(Path(args.testdata))
    reports = []
    peak_kb = 0
    if args.jobs == 1:
        for name in args.decoders.split(","):
            reports.append(fuzz_decoder(name, corpus[name], iterations=args.iterations,
                                        rng=random.Random(f"{args.seed}:{name}")).to_json())
    else:
        context = multiprocessing.get_context("spawn" if sys.platform == "darwin" else "fork")
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=context) as pool:
            for name in args.decoders.split(","):
                report, job_peak_kb = fuzz_in_parallel(name, corpus[name], iterations=args.iterations,
                                                       seed=args.seed, pool=pool, jobs=args.jobs)
                reports.append(report.to_json())
                peak_kb = max(peak_kb, job_peak_kb)
    peak_kb = max(peak_kb, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    print(json.dumps({"iterations": args.iterations, "seed": args.seed, "jobs": args.jobs,
                      "corpus": {k: len(v) for k, v in corpus.items()},
                      "decoders": reports, "peak_rss_mb": round(peak_kb / 1024, 1)}, indent=2))


if __name__ == "__main__":
    main()

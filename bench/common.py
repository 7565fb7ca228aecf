"""Helpers shared by the benchmarks: cached demo sources."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / "out"


def demo_source(messages: int, chats: int, contacts: int, *, seed: int = 2026, cache: Path = CACHE) -> tuple[Path, dict]:
    """A generated source, made once and kept under bench/out (git-ignored)."""
    out = cache / f"source-{messages}-{chats}-{contacts}"
    marker = out / "summary.json"
    if marker.exists():
        return out, json.loads(marker.read_text())
    shutil.rmtree(out, ignore_errors=True)
    from backend.source.demo.generator import generate_demo_source

    summary = generate_demo_source(out, messages=messages, chats=chats, contacts=contacts, seed=seed).to_json()
    marker.write_text(json.dumps(summary))
    return out, summary

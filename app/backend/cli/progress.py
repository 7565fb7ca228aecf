"""Progress of long work: a rich bar on a terminal, plain lines when piped."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn


@contextmanager
def progress_reporter() -> Iterator:
    """Yields a callback `(stage, done, total)`. Progress goes to stderr; stdout keeps the JSON result."""
    if not sys.stderr.isatty():
        def plain(stage: str, done: int, total: int) -> None:
            print(f"{stage}: {done}/{total}", file=sys.stderr, flush=True)

        yield plain
        return
    with Progress(TextColumn("{task.description:<12}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def fancy(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=max(total, 1))
            bar.update(tasks[stage], completed=done, total=max(total, 1))

        yield fancy

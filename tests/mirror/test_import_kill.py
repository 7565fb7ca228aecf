"""kill -9 of `chatstats import` while its decode workers run leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil
import pytest

from backend.source.demo.generator import generate_demo_source
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def big_source(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("kill-import")
    generate_demo_source(out, messages=30_000, chats=20, contacts=60, seed=13)
    return out


def test_kill_9_of_import_leaves_no_decode_worker(big_source, tmp_path):
    env = {**os.environ, "CHATSTATS_DATA_DIR": str(tmp_path / "data")}
    command = subprocess.Popen(
        [sys.executable, "-m", "backend.cli.main", "import", "--source", str(big_source / "chat.db")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    parent = psutil.Process(command.pid)
    workers: list[psutil.Process] = []
    try:
        workers = wait_until(lambda: parent.children(recursive=True), timeout=120,
                             what="the import's decode workers")
        assert command.poll() is None, "the import finished before its workers could be seen"
        os.kill(command.pid, signal.SIGKILL)
        command.wait(timeout=30)
        gone, alive = psutil.wait_procs(workers, timeout=30)
        assert alive == [], [p.pid for p in alive]
        assert len(gone) == len(workers) >= 1
    finally:  # whatever failed above, leave nothing of this test's running
        if command.poll() is None:
            command.kill()
        for worker in workers:
            if worker.is_running():
                worker.kill()

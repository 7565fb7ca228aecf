"""A fresh `chatstats up` analyses the whole history by itself (the offline analyzer needs no consent)."""

from __future__ import annotations

import signal
import sqlite3

import pytest

from tests.supervisor.conftest import READY_TIMEOUT_S, get, wait_for

ANALYSABLE = "state IN ('sealed', 'ready', 'historic') AND message_count > 0"


@pytest.mark.timeout(900)  # a cold start of five processes took 4 minutes on the shared 2-core machine
def test_a_fresh_up_analyses_every_sealed_conversation_without_any_command(start_up, isolated_data_dir,
                                                                          monkeypatch):
    monkeypatch.setenv("CHATSTATS_START_TIMEOUT_S", "300")  # a cold start of every process on a loaded machine
    up = start_up("--demo", "--demo-messages", "300", "--demo-rate", "0")
    ready = up.next_event(READY_TIMEOUT_S * 6)
    url, token = ready["url"], ready["token"]

    def coverage() -> dict:
        return get(url, token, "/api/analysis/coverage").json()

    assert wait_for(lambda: coverage()["total"] > 0 and coverage()["remaining"] == 0, 300), (coverage(), up.log())
    conn = sqlite3.connect(isolated_data_dir / "central.db")
    analysable = conn.execute(f"SELECT id, revision FROM conversations WHERE {ANALYSABLE}").fetchall()
    passes = {name for (name,) in conn.execute("SELECT DISTINCT pass_name FROM analysis_jobs")}
    assert passes >= {"basic", "commitments"}
    for conversation_id, revision in analysable:  # every pass of every sealed conversation, none asked for
        done = {name for (name,) in conn.execute(
            "SELECT pass_name FROM analysis_jobs WHERE conversation_id = ? AND revision = ? AND status = 'done'",
            (conversation_id, revision))}
        assert done == passes, (conversation_id, done)
    final = coverage()
    assert final["analysed"] == final["total"] == len(analysable)
    runs = get(url, token, "/api/analysis/runs").json()["runs"]
    assert [r["scope"] for r in runs] == ["history"]  # one run, started by `up` itself
    onboarding = get(url, token, "/api/analysis/onboarding").json()
    assert onboarding["status"] == "started" and onboarding["run"]["id"] == runs[0]["id"]
    up.process.send_signal(signal.SIGTERM)
    assert up.wait_exit(30) == 0

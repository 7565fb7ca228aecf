"""Tests find the shared test data through CHATSTATS_TESTDATA_DIR (else beside the clone) and say so when they skip."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT, missing_testdata_reason, shared_testdata


def test_the_setting_names_the_folder_else_the_sibling_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATSTATS_TESTDATA_DIR", str(tmp_path))
    assert shared_testdata() == tmp_path and missing_testdata_reason(tmp_path) is None
    monkeypatch.delenv("CHATSTATS_TESTDATA_DIR")
    assert shared_testdata() == REPO_ROOT.parent / "shared" / "testdata"


def test_a_test_that_needs_it_skips_saying_where_it_looked_and_which_setting_to_use(tmp_path):
    nowhere = tmp_path / "no-testdata"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "tests/cli/test_cli.py::test_debug_decode_summary_on_real_plists"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "CHATSTATS_TESTDATA_DIR": str(nowhere)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 skipped" in result.stdout
    assert f"shared test data not found at {nowhere}: set CHATSTATS_TESTDATA_DIR" in result.stdout

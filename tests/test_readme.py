"""The README tells a user where their data lives, on each platform, as the settings compute it."""

from __future__ import annotations

import sys
from pathlib import Path

from backend.config import default_data_dir
from tests.conftest import REPO_ROOT


def _as_written(path: Path, home: Path) -> str:
    return "~/" + str(path.relative_to(home))


def test_readme_names_the_data_folder_of_linux_and_of_a_mac(tmp_path, monkeypatch):
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    linux = _as_written(default_data_dir(), tmp_path)
    monkeypatch.setattr(sys, "platform", "darwin")
    mac = _as_written(default_data_dir(), tmp_path)
    assert linux == "~/.local/share/chatstats" and mac == "~/Library/Application Support/ChatStats"
    assert f"`{linux}` on Linux" in readme and f"`{mac}` on a Mac" in readme
    assert "CHATSTATS_DATA_DIR" in readme

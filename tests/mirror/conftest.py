from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backend.source.demo.generator import generate_demo_source

_CACHE: dict[tuple, Path] = {}


@pytest.fixture(scope="session")
def demo_cache(tmp_path_factory: pytest.TempPathFactory):
    """Generate each demo source once per session; tests copy it before touching it."""

    def make(messages: int = 3000, chats: int = 12, contacts: int = 40, seed: int = 11) -> Path:
        key = (messages, chats, contacts, seed)
        if key not in _CACHE:
            out = tmp_path_factory.mktemp(f"demo-{messages}-{seed}")
            generate_demo_source(out, messages=messages, chats=chats, contacts=contacts, seed=seed)
            _CACHE[key] = out
        return _CACHE[key]

    return make


@pytest.fixture
def demo_source(demo_cache, tmp_path: Path) -> Path:
    """A private copy of a small demo source (chat.db + AddressBook/)."""
    target = tmp_path / "source"
    shutil.copytree(demo_cache(), target)
    return target

"""Which source `chatstats up` mirrors, imported before any child starts."""

from __future__ import annotations

import pytest

from backend.config import get_settings
from backend.source.errors import SourceDatabaseMissing
from backend.supervisor.prepare import prepare


def test_demo_if_missing_generates_and_imports_a_demo_source(isolated_data_dir):
    prepared = prepare(get_settings(), demo_if_missing=True, demo_messages=200)
    assert prepared.demo is True
    assert prepared.source == isolated_data_dir / "demo-source" / "chat.db"
    assert prepared.addressbook == isolated_data_dir / "demo-source" / "AddressBook"
    assert prepared.summary.counts["messages"] > 100
    again = prepare(get_settings(), demo=True, demo_messages=5_000)  # reused as is, not imported again
    assert again.source == prepared.source and again.summary is None  # live sync catches up instead


def test_a_missing_chat_db_without_a_demo_flag_is_an_error_that_names_the_flag(isolated_data_dir):
    with pytest.raises(SourceDatabaseMissing) as missing:
        prepare(get_settings())
    assert "chatstats up --demo" in missing.value.message
    assert not (isolated_data_dir / "demo-source").exists()


def test_an_explicit_source_never_falls_back_to_demo_data(isolated_data_dir, tmp_path):
    with pytest.raises(SourceDatabaseMissing):
        prepare(get_settings(), source=tmp_path / "elsewhere" / "chat.db", demo_if_missing=True)
    assert not (isolated_data_dir / "demo-source").exists()

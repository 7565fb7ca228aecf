"""Every chat.db schema the generator can write (OS X 10.10 to macOS 26) imports and live-syncs to the
mirror that the same content in the current schema gives."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.config import Settings
from backend.db.engine import get_engine
from backend.live.hub import MessageHub
from backend.mirror.importer import import_source
from backend.source.chatdb.reader import ChatDbReader
from backend.source.demo.generator import generate_demo_source
from backend.source.demo.live import LiveSourceWriter
from backend.source.demo.variants import VARIANTS, apply_variant
from backend.sync.service import LiveSync
from tests.mirror_fixtures import mirror_state

SIZE = {"messages": 700, "chats": 7, "contacts": 18, "seed": 5, "now": datetime(2026, 5, 1, 12, tzinfo=UTC)}
CLOCK_START = 1_780_000_000  # whole seconds: a seconds-era file keeps no fraction
_MADE: dict[tuple[str, bool], Path] = {}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory):
    """(variant, converted) -> a generated source folder; converted=False is the macOS 15 file with the
    variant's content (what the variant must mirror to)."""

    def make(name: str, *, converted: bool) -> Path:
        key = (name, converted)
        if key not in _MADE:
            out = tmp_path_factory.mktemp(f"{name}-{'variant' if converted else 'expected'}")
            generate_demo_source(out, **SIZE)
            apply_variant(out / "chat.db", name, convert=converted)
            _MADE[key] = out
        return _MADE[key]

    return make


def _copy(folder: Path, target: Path) -> Path:
    shutil.copytree(folder, target)
    return target


def _import(source: Path, data: Path) -> Settings:
    settings = Settings(data_dir=data)
    import_source(settings, source=source / "chat.db", addressbook_dir=source / "AddressBook")
    return settings


def _columns(chat_db: Path, table: str) -> set[str]:
    with closing(sqlite3.connect(chat_db)) as conn:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def test_variants_have_the_schema_of_their_macos(made):
    old = made("osx10.10", converted=True) / "chat.db"
    assert not {"associated_message_type", "date_edited", "message_summary_info"} & _columns(old, "message")
    assert "message_date" not in _columns(old, "chat_message_join")
    with ChatDbReader.open(old) as reader:
        assert reader.capabilities.date_unit == "s"
        assert not reader.capabilities.tapbacks and not reader.capabilities.edits
    monterey = made("macos12", converted=True) / "chat.db"
    assert "associated_message_type" in _columns(monterey, "message")
    assert "date_edited" not in _columns(monterey, "message")
    sonoma = made("macos14", converted=True) / "chat.db"
    assert "date_edited" in _columns(sonoma, "message") and "associated_message_emoji" not in _columns(
        sonoma, "message")
    tahoe = made("macos26", converted=True) / "chat.db"
    with closing(sqlite3.connect(tahoe)) as conn:
        guids = [g for (g,) in conn.execute("SELECT guid FROM chat")]
        assert guids and all(g.startswith(("any;-;", "any;+;")) for g in guids)
        assert conn.execute("SELECT count(DISTINCT chat) FROM chat_service").fetchone()[0] == len(guids)
        assert conn.execute("SELECT count(*) FROM chat_lookup").fetchone()[0] >= len(guids)
        assert conn.execute("SELECT count(*) FROM message WHERE date_edited IS NULL").fetchone()[0] > 0
        assert conn.execute("SELECT count(*) FROM message WHERE date_edited = 0").fetchone()[0] == 0
        triggers = " ".join(sql for (sql,) in conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'"))
        assert "chat_service_did_change" in triggers
    with ChatDbReader.open(tahoe) as reader:
        services = {row[4] for row in reader.chats()}
        assert services <= {"iMessage", "SMS", "RCS"} and services


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_imports_to_the_mirror_of_its_content(made, tmp_path, name):
    variant = _import(_copy(made(name, converted=True), tmp_path / "v"), tmp_path / "variant")
    expected = _import(_copy(made(name, converted=False), tmp_path / "e"), tmp_path / "expected")
    got, want = mirror_state(variant.central_db_path), mirror_state(expected.central_db_path)
    assert len(want["messages"]) > 500
    if VARIANTS[name].tapbacks:
        assert want["reactions"]
    if VARIANTS[name].edits:
        assert want["edits"]
    assert _diff(got, want) == {}


def _diff(got: dict, want: dict) -> dict:
    """The first differences, readable (pytest's own diff of these dicts is cut short)."""
    out = {}
    for part in want:
        if got[part] != want[part]:
            if isinstance(want[part], dict):
                keys = [k for k in set(got[part]) | set(want[part]) if got[part].get(k) != want[part].get(k)]
                out[part] = [(k, got[part].get(k), want[part].get(k)) for k in sorted(keys)[:3]]
            else:
                out[part] = (len(got[part]), len(want[part]))
    return out


def _live_script(writer: LiveSourceWriter, name: str, clock: list[int]) -> list[str]:
    """The same Messages activity, whatever the schema: new messages, a burst, reads, and the features
    this macOS has (tapbacks, edits)."""
    variant = VARIANTS[name]
    guids = []
    for _ in range(12):
        clock[0] += 7
        guids.append(writer.write_message())
    guids += writer.write_burst(5)
    clock[0] += 30
    writer.mark_read(guids[0])
    if variant.tapbacks:
        guids.append(writer.add_tapback(guids[1], kind=2001))
    if variant.edits:
        clock[0] += 5
        writer.edit_message(guids[2], "changed my mind")
    return guids


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_live_syncs_to_the_same_mirror(made, tmp_path, name):
    states = []
    for side, converted in (("variant", True), ("expected", False)):
        source = _copy(made(name, converted=converted), tmp_path / f"src-{side}")
        settings = _import(source, tmp_path / side)
        sync = LiveSync(settings, get_engine(settings.central_db_path), source=source / "chat.db",
                        addressbook_dir=source / "AddressBook", hub=MessageHub())
        clock = [CLOCK_START]
        with LiveSourceWriter(source / "chat.db", seed=9, clock=lambda c=clock: float(c[0])) as writer:
            guids = _live_script(writer, name, clock)
        sync.run_pass()
        state = mirror_state(settings.central_db_path)
        assert all(g in state["messages"] for g in guids[:17])
        if VARIANTS[name].tapbacks:
            assert any(target == guids[1] for _sender, target, *_rest in state["reactions"])
        if VARIANTS[name].edits:
            assert state["messages"][guids[2]][0] == "changed my mind"
        states.append(state)
    assert _diff(states[0], states[1]) == {}


def test_the_real_macos_15_chat_db_imports(testdata_dir, tmp_path):
    """imessage-exporter's real chat.db: 2 orphan messages (attributedBody only, no chat or handle) and 3
    sticker attachments; its triggers call Apple-only functions, which reading never runs."""
    real = testdata_dir / "imessage-exporter" / "db" / "test.db"
    with closing(sqlite3.connect(f"file:{real}?mode=ro", uri=True)) as conn:
        count = conn.execute("SELECT count(*) FROM message").fetchone()[0]
    settings = Settings(data_dir=tmp_path / "data")
    stats = import_source(settings, source=real, addressbook_dir=tmp_path / "no-addressbook")
    state = mirror_state(settings.central_db_path)
    assert len(state["messages"]) == count == 2
    assert all(row[1] == "unknown:no-chat" for row in state["messages"].values())
    with ChatDbReader.open(real) as reader:
        assert reader.capabilities.date_unit == "ns" and reader.capabilities.tapbacks
    assert stats.written["without_chat"] == 2 and stats.written["attachments"] == 3

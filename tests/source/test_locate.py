"""The one rule for which source is mirrored and which address book goes with it (source/locate.py)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend.config import Settings
from backend.source.backup import write_fake_backup
from backend.source.errors import SourceDatabaseMissing, SourceDatabaseUnreadable
from backend.source.locate import SourceChoice, choose_source, demo_dir, ensure_demo_source

NOBODY = 65534


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder of our own: the default AddressBook folder lives under it."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.delenv("CHATSTATS_ADDRESSBOOK_DIR", raising=False)
    return folder


def _messages(folder: Path, *, addressbook: bool = False) -> Path:
    """A folder holding a chat.db (the rule looks at files, not their content)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "chat.db").write_bytes(b"SQLite format 3\x00")
    if addressbook:
        (folder / "AddressBook").mkdir()
    return folder / "chat.db"


def _backup(tmp_path: Path, *, with_addressbook: bool = True) -> Path:
    sms = _messages(tmp_path / "phone")
    book = tmp_path / "phone" / "AddressBook.sqlitedb"
    book.write_bytes(b"SQLite format 3\x00")
    folder = tmp_path / "Backup" / "00008030-0001"
    write_fake_backup(folder, sms_db=sms, addressbook_db=book if with_addressbook else None)
    return folder


def _settings(monkeypatch: pytest.MonkeyPatch, source: Path | None = None, addressbook: Path | None = None) -> Settings:
    if source is not None:
        monkeypatch.setenv("CHATSTATS_SOURCE_CHAT_DB", str(source))
    if addressbook is not None:
        monkeypatch.setenv("CHATSTATS_ADDRESSBOOK_DIR", str(addressbook))
    return Settings()


def _same_choice(choice: SourceChoice, settings: Settings) -> None:
    """Fed back as the source (what `up` tells its children), a choice gives itself again."""
    again = choose_source(settings, source=choice.origin, addressbook=choice.addressbook_dir)
    assert dataclasses.replace(again, reason="") == dataclasses.replace(choice, reason="")


def test_an_explicit_source_file_with_the_addressbook_beside_it(tmp_path, home, monkeypatch):
    chat_db = _messages(tmp_path / "Messages", addressbook=True)
    settings = _settings(monkeypatch)
    choice = choose_source(settings, source=chat_db)
    assert (choice.chat_db, choice.addressbook_dir, choice.iphone_addressbook, choice.kind) == (
        chat_db, tmp_path / "Messages" / "AddressBook", None, "messages")
    assert choice.addressbooks == (tmp_path / "Messages" / "AddressBook",) and "--source" in choice.reason
    _same_choice(choice, settings)


def test_a_folder_holding_chat_db_is_that_chat_db(tmp_path, home, monkeypatch):
    chat_db = _messages(tmp_path / "Messages")
    choice = choose_source(_settings(monkeypatch), source=tmp_path / "Messages")
    assert choice.chat_db == chat_db and choice.kind == "messages" and choice.addressbook_dir is None


def test_a_folder_without_chat_db_says_so(tmp_path, home, monkeypatch):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceDatabaseMissing) as missing:
        choose_source(_settings(monkeypatch), source=tmp_path / "empty", if_missing="demo")
    assert "folder without a chat.db" in missing.value.message
    assert not demo_dir().exists()


def test_an_explicit_source_that_is_missing_never_falls_back_to_demo_data(tmp_path, home, monkeypatch):
    with pytest.raises(SourceDatabaseMissing) as missing:
        choose_source(_settings(monkeypatch), source=tmp_path / "elsewhere" / "chat.db", if_missing="demo")
    assert str(tmp_path / "elsewhere" / "chat.db") in missing.value.message


@pytest.mark.parametrize("given", ["backup", "source", "configured"])
def test_a_backup_folder_gives_its_sms_db_and_its_own_address_book(tmp_path, home, monkeypatch, given):
    folder = _backup(tmp_path)
    (home / "Library" / "Application Support" / "AddressBook").mkdir(parents=True)  # a Mac's: not the phone's
    settings = _settings(monkeypatch, source=folder if given == "configured" else None)
    choice = choose_source(settings, **({given: folder} if given != "configured" else {}))
    assert choice.kind == "backup" and choice.origin == folder
    assert choice.chat_db.parent.parent == folder and choice.chat_db.read_bytes().startswith(b"SQLite format 3")
    assert choice.iphone_addressbook is not None and choice.iphone_addressbook.parent.parent == folder
    assert choice.addressbook_dir is None and choice.addressbooks == (choice.iphone_addressbook,)
    _same_choice(choice, settings)


def test_a_backup_takes_an_addressbook_folder_only_when_one_is_named(tmp_path, home, monkeypatch):
    folder = _backup(tmp_path, with_addressbook=False)
    named = tmp_path / "Contacts"
    named.mkdir()
    choice = choose_source(_settings(monkeypatch), backup=folder, addressbook=named)
    assert choice.addressbooks == (named,) and choice.iphone_addressbook is None


def test_the_configured_chat_db_when_it_exists(tmp_path, home, monkeypatch):
    chat_db = _messages(tmp_path / "Library" / "Messages")
    default_book = home / "Library" / "Application Support" / "AddressBook"
    default_book.mkdir(parents=True)
    settings = _settings(monkeypatch, source=chat_db)
    for if_missing in ("error", "demo"):
        choice = choose_source(settings, if_missing=if_missing)
        assert (choice.chat_db, choice.addressbook_dir, choice.kind) == (chat_db, default_book, "messages")
        assert "CHATSTATS_SOURCE_CHAT_DB" in choice.reason
    _same_choice(choice, settings)
    assert not demo_dir().exists()


def test_no_messages_database_is_an_error_for_import(home, monkeypatch, isolated_data_dir):
    with pytest.raises(SourceDatabaseMissing) as missing:
        choose_source(_settings(monkeypatch))
    assert "demo-source" in missing.value.message
    assert not demo_dir().exists()


def test_no_messages_database_means_the_demo_source_for_up_made_once(home, monkeypatch, isolated_data_dir):
    settings = _settings(monkeypatch)
    choice = choose_source(settings, if_missing="demo")
    assert (choice.chat_db, choice.addressbook_dir, choice.kind) == (
        isolated_data_dir / "demo-source" / "chat.db", isolated_data_dir / "demo-source" / "AddressBook", "demo")
    assert choice.demo and not choice.chat_db.exists()  # choosing generates nothing
    ensure_demo_source(choice, messages=60)
    made = choice.chat_db.stat().st_mtime_ns
    assert choice.addressbook_dir is not None and choice.addressbook_dir.is_dir()
    ensure_demo_source(choice, messages=60)
    assert choice.chat_db.stat().st_mtime_ns == made  # reused, not generated again
    _same_choice(choice, settings)  # up hands the demo chat.db to its children: still the demo source
    assert choose_source(settings, if_missing="demo") == choice


def test_demo_asked_for_wins_over_a_real_database(tmp_path, home, monkeypatch, isolated_data_dir):
    chat_db = _messages(tmp_path / "Messages", addressbook=True)
    choice = choose_source(_settings(monkeypatch, source=chat_db), source=chat_db, demo=True)
    assert choice.kind == "demo" and choice.chat_db == isolated_data_dir / "demo-source" / "chat.db"


def test_addressbook_named_beats_beside_beats_default_beats_none(tmp_path, home, monkeypatch):
    chat_db = _messages(tmp_path / "Messages")
    default_book = home / "Library" / "Application Support" / "AddressBook"
    assert choose_source(_settings(monkeypatch), source=chat_db).addressbook_dir is None
    default_book.mkdir(parents=True)
    assert choose_source(_settings(monkeypatch), source=chat_db).addressbook_dir == default_book
    (tmp_path / "Messages" / "AddressBook").mkdir()
    assert choose_source(_settings(monkeypatch), source=chat_db).addressbook_dir == tmp_path / "Messages" / "AddressBook"
    configured = tmp_path / "Configured"
    assert choose_source(_settings(monkeypatch, addressbook=configured), source=chat_db).addressbook_dir == configured
    named = tmp_path / "Named"
    assert choose_source(_settings(monkeypatch, addressbook=configured), source=chat_db,
                         addressbook=named).addressbook_dir == named


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder another user can use too (pytest's own temp folders are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="chatstats-locate-"))
    folder.chmod(0o777)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_an_unreadable_configured_database_is_an_error_never_demo_data(shared_dir, home, monkeypatch):
    chat_db = _messages(shared_dir / "Library" / "Messages")
    (shared_dir / "Library").chmod(0o755)
    settings = _settings(monkeypatch, source=chat_db)
    chat_db.parent.chmod(0o000)
    as_nobody = os.geteuid() == 0  # root reads everything: check as nobody
    try:
        if as_nobody:
            os.seteuid(NOBODY)
        with pytest.raises(SourceDatabaseUnreadable) as unreadable:
            choose_source(settings, if_missing="demo")
    finally:
        if as_nobody:
            os.seteuid(0)
        chat_db.parent.chmod(0o755)
    assert "Full Disk Access" in unreadable.value.message
    assert not demo_dir().exists()


def test_a_source_and_a_backup_together_are_refused(tmp_path, home, monkeypatch):
    from backend.errors import InvalidRequest

    with pytest.raises(InvalidRequest) as both:
        choose_source(_settings(monkeypatch), source=_messages(tmp_path / "Messages"), backup=_backup(tmp_path))
    assert "not both" in both.value.message

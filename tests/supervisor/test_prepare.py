"""Which source `chatstats up` mirrors, imported before any child starts."""

from __future__ import annotations

import sqlite3
from contextlib import closing

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


def _handed_over(prepared, monkeypatch):
    """What the API's live sync chooses from the environment `up` gives its children."""
    from backend.cli.up import child_env
    from backend.config import Settings
    from backend.source.locate import choose_source

    env = child_env(get_settings(), redis_url="unix:///nowhere", source=prepared.configured,
                    addressbook=prepared.addressbook, token="t")
    for name in ("CHATSTATS_SOURCE_CHAT_DB", "CHATSTATS_ADDRESSBOOK_DIR"):
        if name in env:
            monkeypatch.setenv(name, env[name])
        else:
            monkeypatch.delenv(name, raising=False)
    return choose_source(Settings(), if_missing="demo")


def test_the_children_choose_what_up_chose(isolated_data_dir, tmp_path, monkeypatch):
    """Demo data, a chat.db with an address book named over the one beside it, and an iPhone backup: the
    choice `prepare` imported is the one live sync re-derives in the API process."""
    from backend.source.addressbook.writer import LABEL_MOBILE, ContactSpec, write_iphone_addressbook
    from backend.source.backup import write_fake_backup
    from backend.source.demo.generator import generate_demo_source

    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no default AddressBook folder
    demo = prepare(get_settings(), demo=True, demo_messages=150)
    again = _handed_over(demo, monkeypatch)
    assert (again.kind, again.chat_db, again.addressbook_dir) == ("demo", demo.source, demo.addressbook)

    messages = tmp_path / "Messages"
    generate_demo_source(messages, messages=120, chats=3, contacts=6, seed=4)  # with AddressBook/ beside
    named = tmp_path / "Named"
    named.mkdir()
    mine = prepare(get_settings(), source=messages, addressbook=named)
    assert (mine.source, mine.addressbook, mine.demo) == (messages / "chat.db", named, False)
    again = _handed_over(mine, monkeypatch)
    assert (again.kind, again.chat_db, again.addressbook_dir) == ("messages", mine.source, named)

    book = write_iphone_addressbook(tmp_path / "AddressBook.sqlitedb", [
        ContactSpec(first_name="Backup", last_name="Friend", phones=((LABEL_MOBILE, "+14155550123"),))])
    backup = tmp_path / "Backup" / "device"
    write_fake_backup(backup, sms_db=messages / "chat.db", addressbook_db=book)
    monkeypatch.delenv("CHATSTATS_ADDRESSBOOK_DIR", raising=False)
    phone = prepare(get_settings(), source=backup)
    assert phone.configured == backup and phone.source.parent.parent == backup and phone.addressbook is None
    again = _handed_over(phone, monkeypatch)
    assert (again.kind, again.chat_db, again.origin) == ("backup", phone.source, backup)
    assert again.iphone_addressbook is not None and again.iphone_addressbook.parent.parent == backup
    with closing(sqlite3.connect(get_settings().central_db_path)) as conn:  # the backup's own address book
        assert conn.execute("SELECT count(*) FROM contacts WHERE display_name = 'Backup Friend'").fetchone()[0] == 1

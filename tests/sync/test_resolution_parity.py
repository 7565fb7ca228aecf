"""Who is who after live sync equals who is who after a fresh import of the same final source: a new chat
with a new handle, a new handle of a known person (shared person_centric_id), and handles that a new
Contacts card merges into one person, synced pass by pass."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

from backend.config import Settings, get_settings
from backend.db.engine import create_db_engine, get_engine
from backend.live.hub import MessageHub
from backend.mirror.importer import import_source
from backend.source.addressbook.writer import ContactSpec, write_addressbook
from backend.source.demo import live_sql
from backend.source.demo.live import LiveSourceWriter
from backend.sync.service import LiveSync
from tests.mirror_fixtures import mirror_state

NEW_PHONE, NEW_EMAIL = "+14155550199", "new.person@example.org"


def people_state(db: Path) -> dict:
    """Contacts, identifiers, handles, chats, participants and each message's chat and sender, by stable keys
    (row ids differ between a live mirror and a fresh import; merged-away contacts are history, not people)."""
    with closing(sqlite3.connect(db)) as conn:
        def rows(sql: str) -> set[tuple]:
            return set(conn.execute(sql).fetchall())

        return {
            "contacts": rows("""SELECT contact_key, display_name, first_name, last_name, nickname, organization,
                                       source_keys FROM contacts WHERE merged_into_id IS NULL"""),
            "identifiers": rows("""SELECT ci.value, ci.kind, ci.from_addressbook, c.contact_key
                                   FROM contact_identifiers ci JOIN contacts c ON c.id = ci.contact_id"""),
            "handles": rows("""SELECT h.identifier, h.service, h.canonical, h.person_centric_id, h.source_rowid,
                                      c.contact_key FROM handles h JOIN contacts c ON c.id = h.contact_id"""),
            "chats": rows("SELECT chat_key, is_group, display_name, service FROM chats"),
            "chat_sources": rows("""SELECT s.source_guid, s.source_rowid, c.chat_key FROM chat_sources s
                                    JOIN chats c ON c.id = s.chat_id"""),
            "participants": rows("""SELECT ch.chat_key, c.contact_key FROM chat_participants p
                                    JOIN chats ch ON ch.id = p.chat_id JOIN contacts c ON c.id = p.contact_id"""),
            "messages": rows("""SELECT m.guid, ch.chat_key, c.contact_key FROM messages m
                                JOIN chats ch ON ch.id = m.chat_id
                                LEFT JOIN contacts c ON c.id = m.sender_contact_id"""),
        }


def _add_chat_with_new_handle(chat_db: Path, *, handle_id: str, person_centric_id: str | None = None) -> str:
    """What Messages writes when someone new texts: a handle, a 1:1 chat and its member row."""
    with closing(live_sql.connect(chat_db)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        handle_rowid = conn.execute(
            "INSERT INTO handle (id, country, service, uncanonicalized_id, person_centric_id) "
            "VALUES (?, 'us', 'iMessage', ?, ?)", (handle_id, handle_id, person_centric_id)).lastrowid
        guid = f"iMessage;-;{handle_id}"
        chat_rowid = conn.execute(
            "INSERT INTO chat (guid, style, state, chat_identifier, service_name, is_archived, is_filtered, "
            "successful_query) VALUES (?, 45, 3, ?, 'iMessage', 0, 0, 1)", (guid, handle_id)).lastrowid
        conn.execute("INSERT INTO chat_handle_join (chat_id, handle_id) VALUES (?, ?)", (chat_rowid, handle_rowid))
        conn.execute("COMMIT")
    return guid


def _known_person_centric_id(chat_db: Path) -> tuple[str, str]:
    """(person_centric_id, handle id) of a handle that has one."""
    with closing(sqlite3.connect(chat_db)) as conn:
        row = conn.execute("SELECT person_centric_id, id FROM handle WHERE person_centric_id IS NOT NULL "
                           "ORDER BY ROWID LIMIT 1").fetchone()
    assert row is not None, "the demo source has handles with a person_centric_id"
    return row[0], row[1]


def _write_messages(chat_db: Path, chat_guid: str, count: int) -> list[str]:
    with LiveSourceWriter(chat_db, seed=5) as writer:  # opened now: it knows the new chat
        return [writer.write_message(chat_guid=chat_guid, from_me=i % 2 == 0) for i in range(count)]


def test_live_sync_resolves_people_and_chats_as_a_fresh_import_does(demo_template, tmp_path):
    source = tmp_path / "source"
    shutil.copytree(demo_template(messages=400, chats=5, contacts=10, seed=33), source)
    chat_db, book = source / "chat.db", source / "AddressBook"
    settings = get_settings()
    import_source(settings, source=chat_db, addressbook_dir=book)
    sync = LiveSync(settings, get_engine(settings.central_db_path), source=chat_db, addressbook_dir=book,
                    hub=MessageHub())
    sync.run_pass()

    # someone new texts: a new handle in a new 1:1 chat
    new_chat = _add_chat_with_new_handle(chat_db, handle_id=NEW_PHONE)
    sent = _write_messages(chat_db, new_chat, 4)
    sync.run_pass()
    live = people_state(settings.central_db_path)
    new_person = f"id:{NEW_PHONE}"
    assert {(guid, f"dm:{new_person}") for guid in sent} <= {(g, chat) for g, chat, _ in live["messages"]}
    assert (f"dm:{new_person}", new_person) in live["participants"]

    # a known person writes from a new address (Messages links it with the same person_centric_id)
    pcid, known_handle = _known_person_centric_id(chat_db)
    second_chat = _add_chat_with_new_handle(chat_db, handle_id=NEW_EMAIL, person_centric_id=pcid)
    _write_messages(chat_db, second_chat, 3)
    sync.run_pass()

    # the user saves the new number in Contacts: its unnamed contact merges into the named one
    write_addressbook(book, {"LIVESOURCE": [
        ContactSpec(first_name="Nora", last_name="Newcomb", phones=(("_$!<Mobile>!$_", NEW_PHONE),))]})
    _write_messages(chat_db, new_chat, 2)
    sync.run_pass()

    live = people_state(settings.central_db_path)
    fresh_settings = Settings(data_dir=tmp_path / "fresh")
    create_db_engine(fresh_settings.central_db_path).dispose()
    import_source(fresh_settings, source=chat_db, addressbook_dir=book)
    fresh = people_state(fresh_settings.central_db_path)
    for part in fresh:
        assert live[part] == fresh[part], (part, live[part] ^ fresh[part])
    assert mirror_state(settings.central_db_path) == mirror_state(fresh_settings.central_db_path)

    # and the people are the right ones, counted from the source itself
    with closing(sqlite3.connect(chat_db)) as conn:
        new_chat_messages = conn.execute(
            "SELECT count(*) FROM chat_message_join j JOIN chat c ON c.ROWID = j.chat_id WHERE c.guid = ?",
            (new_chat,)).fetchone()[0]
    nora = {key for key, name, *_ in live["contacts"] if name == "Nora Newcomb"}
    assert len(nora) == 1 and new_person not in {key for key, *_ in live["contacts"]}
    (nora_key,) = nora
    assert sum(1 for _g, chat, _s in live["messages"] if chat == f"dm:{nora_key}") == new_chat_messages == len(sent) + 2
    known_key = next(key for ident, *_rest, key in live["handles"] if ident == known_handle)
    assert next(key for ident, *_rest, key in live["handles"] if ident == NEW_EMAIL) == known_key


def test_live_sync_of_an_iphone_backup_keeps_the_names_from_its_address_book(demo_template, tmp_path):
    """The address book inside a backup is read by live sync too (not only by the import), so a pass does
    not turn the people the import named back into bare numbers."""
    from backend.source.addressbook.writer import LABEL_MOBILE, write_iphone_addressbook
    from backend.source.backup import write_fake_backup
    from backend.source.locate import choose_source

    phone = tmp_path / "phone"
    shutil.copytree(demo_template(messages=400, chats=5, contacts=10, seed=33), phone)
    with closing(sqlite3.connect(phone / "chat.db")) as conn:
        numbers = [n for (n,) in conn.execute("SELECT DISTINCT id FROM handle WHERE id LIKE '+%' ORDER BY id LIMIT 3")]
    assert len(numbers) == 3
    book = write_iphone_addressbook(tmp_path / "AddressBook.sqlitedb", [
        ContactSpec(first_name=f"Phone{i}", last_name="Person", phones=((LABEL_MOBILE, number),))
        for i, number in enumerate(numbers)])
    backup = tmp_path / "Backup" / "device"
    write_fake_backup(backup, sms_db=phone / "chat.db", addressbook_db=book)

    settings = get_settings()
    chosen = choose_source(settings, source=backup)
    assert chosen.kind == "backup" and chosen.iphone_addressbook is not None
    import_source(settings, source=chosen.chat_db, addressbook_dir=chosen.addressbook_dir,
                  iphone_addressbook=chosen.iphone_addressbook)
    sync = LiveSync(settings, get_engine(settings.central_db_path), source=chosen.chat_db,
                    addressbook_dir=chosen.addressbook_dir, iphone_addressbook=chosen.iphone_addressbook,
                    hub=MessageHub())
    with LiveSourceWriter(chosen.chat_db, seed=9) as writer:
        writer.write_burst(5)
    sync.run_pass()

    live = people_state(settings.central_db_path)
    fresh_settings = Settings(data_dir=tmp_path / "fresh")
    create_db_engine(fresh_settings.central_db_path).dispose()
    import_source(fresh_settings, source=chosen.chat_db, iphone_addressbook=chosen.iphone_addressbook)
    fresh = people_state(fresh_settings.central_db_path)
    for part in fresh:
        assert live[part] == fresh[part], (part, live[part] ^ fresh[part])
    named = {name for _key, name, *_ in live["contacts"] if name and name.endswith(" Person")}
    assert named == {f"Phone{i} Person" for i in range(3)}


def _named(db: Path) -> dict[str, str]:
    """identifier -> the name of the person who holds it, for every message sender that has a name."""
    with closing(sqlite3.connect(db)) as conn:
        return dict(conn.execute("""
            SELECT DISTINCT h.canonical, c.display_name FROM messages m
            JOIN handles h ON h.contact_id = m.sender_contact_id JOIN contacts c ON c.id = h.contact_id
            WHERE c.display_name IS NOT NULL AND c.merged_into_id IS NULL"""))


def _damage_address_book(book: Path) -> int:
    stores = sorted(book.rglob("*.abcddb"))
    for store in stores:
        store.write_bytes(b"not a database" * 512)
    return len(stores)


def test_an_unreadable_address_book_leaves_the_people_it_named_named(demo_template, tmp_path):
    """Re-import and a live sync starting up with a damaged address book: nobody the mirror knows by name
    becomes a bare number, no contact is merged away, and new messages still find their sender."""
    source = tmp_path / "source"
    shutil.copytree(demo_template(messages=400, chats=5, contacts=10, seed=33), source)
    chat_db, book = source / "chat.db", source / "AddressBook"
    settings = get_settings()
    import_source(settings, source=chat_db, addressbook_dir=book)
    before = people_state(settings.central_db_path)
    named = _named(settings.central_db_path)
    assert len(named) >= 3  # the demo names most people who write

    assert _damage_address_book(book) >= 1
    summary = import_source(settings, source=chat_db, addressbook_dir=book)
    assert summary.mode == "in_place" and any("contacts not imported" in w for w in summary.warnings)
    assert summary.written["contacts_merged"] == 0
    assert _named(settings.central_db_path) == named
    after = people_state(settings.central_db_path)
    assert {p: after[p] for p in ("contacts", "identifiers", "handles", "chats", "participants")} == {
        p: before[p] for p in ("contacts", "identifiers", "handles", "chats", "participants")}

    sync = LiveSync(settings, get_engine(settings.central_db_path), source=chat_db, addressbook_dir=book,
                    hub=MessageHub())  # a new process: it never read this address book
    with LiveSourceWriter(chat_db, seed=3) as writer:
        guids = writer.write_burst(6)
    sync.run_pass()
    assert _named(settings.central_db_path) == named
    live = people_state(settings.central_db_path)
    assert live["contacts"] == before["contacts"] and live["chats"] == before["chats"]
    with closing(sqlite3.connect(chat_db)) as conn:
        written = dict(conn.execute(
            f"SELECT m.guid, h.id FROM message m JOIN handle h ON h.ROWID = m.handle_id "
            f"WHERE m.is_from_me = 0 AND m.guid IN ({','.join('?' * len(guids))})", guids).fetchall())
    senders = {guid: key for guid, _chat, key in live["messages"] if guid in written}
    assert len(senders) == len(written) and all(key is not None for key in senders.values())

from __future__ import annotations

import hashlib
import logging
import sqlite3
from pathlib import Path

import pytest

from backend.source.addressbook import AddressBookUnreadable
from backend.source.addressbook.reader import (
    find_addressbook_databases,
    merge_contacts,
    read_contacts,
    read_iphone_addressbook,
)
from backend.source.addressbook.writer import (
    LABEL_HOME,
    LABEL_IPHONE,
    LABEL_MOBILE,
    LABEL_WORK,
    ContactSpec,
    write_addressbook,
    write_iphone_addressbook,
)

JANE = ContactSpec(
    first_name="Jane",
    last_name="Appleseed",
    nickname="Janie",
    phones=((LABEL_MOBILE, "(555) 867-5309"), (LABEL_WORK, "+44 20 7946 0958"), (LABEL_HOME, "555-867-5309")),
    emails=((LABEL_HOME, " Jane.Appleseed@Example.COM"),),
)
BAKERY = ContactSpec(organization="Corner Bakery", phones=((LABEL_WORK, "262966"),))


def by_name(contacts) -> dict:
    return {c.display_name: c for c in contacts}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_writer_builds_core_data_stores_where_macos_keeps_them(tmp_path: Path) -> None:
    paths = write_addressbook(tmp_path, {"main": [JANE], "ICLOUD-A1": [BAKERY]})

    assert paths == [tmp_path / "AddressBook-v22.abcddb", tmp_path / "Sources/ICLOUD-A1/AddressBook-v22.abcddb"]
    assert find_addressbook_databases(tmp_path) == paths
    conn = sqlite3.connect(paths[0])
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        entities = dict(conn.execute("SELECT Z_NAME, Z_ENT FROM Z_PRIMARYKEY"))
        assert entities["ABCDContact"] == 22 and entities["ABCDPhoneNumber"] == 15
        z_max = dict(conn.execute("SELECT Z_NAME, Z_MAX FROM Z_PRIMARYKEY"))
        assert z_max["ABCDRecord"] == 2 and z_max["ABCDPhoneNumber"] == 3 and z_max["ABCDEmailAddress"] == 1
        card = conn.execute(
            "SELECT Z_ENT, Z_OPT, ZFIRSTNAME, ZLASTNAME, ZUNIQUEID FROM ZABCDRECORD WHERE ZFIRSTNAME IS NOT NULL"
        ).fetchone()
        assert card[:4] == (22, 1, "Jane", "Appleseed") and card[4].endswith(":ABPerson")
        phones = conn.execute(
            "SELECT ZFULLNUMBER, ZLABEL, ZLASTFOURDIGITS, ZORDERINGINDEX, Z22_OWNER FROM ZABCDPHONENUMBER ORDER BY Z_PK"
        ).fetchall()
        assert phones[0] == ("(555) 867-5309", LABEL_MOBILE, "5309", 0, 22)
        assert conn.execute("SELECT ZADDRESSNORMALIZED FROM ZABCDEMAILADDRESS").fetchone() == ("jane.appleseed@example.com",)
        assert conn.execute("SELECT Z_VERSION, length(Z_UUID) FROM Z_METADATA").fetchone() == (1, 36)
    finally:
        conn.close()
    with pytest.raises(FileExistsError):
        write_addressbook(tmp_path, {"main": [JANE]})


def test_read_back_names_phones_and_emails(tmp_path: Path) -> None:
    write_addressbook(tmp_path, {"main": [JANE, BAKERY, ContactSpec(nickname="Gran", emails=((LABEL_HOME, "gran@example.org"),))]})

    contacts = by_name(read_contacts(tmp_path, default_region="US"))

    assert set(contacts) == {"Jane Appleseed", "Corner Bakery", "Gran"}  # the container row is not a contact
    jane = contacts["Jane Appleseed"]
    assert (jane.first_name, jane.last_name, jane.nickname, jane.organization) == ("Jane", "Appleseed", "Janie", None)
    assert jane.phones == ("+15558675309", "+442079460958")  # the two spellings of one number are one
    assert jane.emails == ("jane.appleseed@example.com",)
    assert jane.source_key.startswith("main:") and jane.source_key.endswith(":ABPerson")
    assert contacts["Corner Bakery"].phones == ("262966",)
    assert contacts["Gran"].emails == ("gran@example.org",)


def test_source_keys_are_stable_across_reads(tmp_path: Path) -> None:
    write_addressbook(tmp_path, {"SRC": [JANE, BAKERY]})
    first = [c.source_key for c in read_contacts(tmp_path, default_region="US")]
    second = [c.source_key for c in read_contacts(tmp_path, default_region="US")]
    assert first == second and len(set(first)) == 2 and all(k.startswith("SRC:") for k in first)


def test_numbers_without_country_code_use_the_default_region(tmp_path: Path) -> None:
    write_addressbook(tmp_path, {"main": [ContactSpec(first_name="Nigel", phones=((LABEL_MOBILE, "07700 900123"),))]})
    assert read_contacts(tmp_path, default_region="GB")[0].phones == ("+447700900123",)


def test_same_person_in_two_sources_is_merged_and_keeps_the_name(tmp_path: Path) -> None:
    write_addressbook(
        tmp_path,
        {
            "ICLOUD": [JANE],
            "GOOGLE": [
                ContactSpec(phones=((LABEL_IPHONE, "+1 555 867 5309"),), emails=((LABEL_WORK, "jane@work.example"),)),
                ContactSpec(first_name="Tom", last_name="Other", phones=((LABEL_MOBILE, "+1 555 000 1111"),)),
            ],
            "LOCAL": [ContactSpec(emails=((LABEL_HOME, "JANE@work.example"),), organization="Appleseed LLC")],
        },
    )
    contacts = read_contacts(tmp_path, default_region="US")
    assert len(contacts) == 4
    assert sum(1 for c in contacts if c.display_name is None) == 1

    merged = by_name(merge_contacts(contacts))

    assert set(merged) == {"Jane Appleseed", "Tom Other"}
    jane = merged["Jane Appleseed"]
    assert jane.first_name == "Jane" and jane.nickname == "Janie"
    assert jane.organization == "Appleseed LLC"  # filled in from the local card
    assert set(jane.phones) == {"+15558675309", "+442079460958"}
    assert set(jane.emails) == {"jane.appleseed@example.com", "jane@work.example"}
    assert len(jane.source_keys) == 3
    assert jane.key == min(jane.source_keys)
    assert merged["Tom Other"].source_keys == (merged["Tom Other"].key,)


def test_a_named_record_wins_whatever_the_source_order(tmp_path: Path) -> None:
    write_addressbook(
        tmp_path,
        {
            "AAA": [ContactSpec(phones=((LABEL_MOBILE, "+1 555 867 5309"),))],
            "BBB": [ContactSpec(organization="Mobile Co", phones=((LABEL_WORK, "+15558675309"),))],
            "CCC": [ContactSpec(first_name="Jane", phones=((LABEL_MOBILE, "(555) 867-5309"),))],
        },
    )
    [merged] = merge_contacts(read_contacts(tmp_path, default_region="US"))
    assert merged.display_name == "Jane"
    assert merged.key.startswith("AAA:")
    assert merged.organization == "Mobile Co"


def test_equal_last_ten_digits_in_different_countries_are_not_merged(tmp_path: Path) -> None:
    write_addressbook(
        tmp_path,
        {
            "main": [
                ContactSpec(first_name="Texas", phones=((LABEL_MOBILE, "+1 (361) 234-5678"),)),
                ContactSpec(first_name="Paris", phones=((LABEL_MOBILE, "+33 6 12 34 56 78"),)),
                ContactSpec(first_name="Erfurt", phones=((LABEL_MOBILE, "+49 36 1234 5678"),)),
                ContactSpec(first_name="US", phones=((LABEL_MOBILE, "+1 555 123 4567"),)),
                ContactSpec(first_name="UK", phones=((LABEL_MOBILE, "+44 555 123 4567"),)),
            ]
        },
    )
    merged = by_name(merge_contacts(read_contacts(tmp_path, default_region="US")))

    assert len(merged) == 5
    assert merged["Texas"].phones == ("+13612345678",)
    assert merged["Paris"].phones == ("+33612345678",)
    assert merged["Erfurt"].phones == ("+493612345678",)
    assert merged["US"].phones == ("+15551234567",)
    assert merged["UK"].phones == ("+445551234567",)


def test_missing_folder_reads_nothing(tmp_path: Path) -> None:
    assert find_addressbook_databases(tmp_path / "nope") == []
    assert read_contacts(tmp_path / "nope") == []


def test_reading_never_changes_the_source_files(tmp_path: Path) -> None:
    paths = write_addressbook(tmp_path, {"main": [JANE], "SRC": [BAKERY]})
    before = {path: sha256(path) for path in paths}

    read_contacts(tmp_path, default_region="US")
    merge_contacts(read_contacts(tmp_path, default_region="US"))

    assert {path: sha256(path) for path in paths} == before


def test_corrupt_store_raises_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "AddressBook-v22.abcddb").write_bytes(b"this is not a SQLite database" * 100)

    with pytest.raises(AddressBookUnreadable) as caught:
        read_contacts(tmp_path)

    assert "not a database" in caught.value.reason
    assert "Contacts" in str(caught.value) and "repair" in str(caught.value)


def test_unrecognised_database_is_unreadable(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "AddressBook-v22.abcddb")
    conn.execute("CREATE TABLE unrelated (x)")
    conn.close()
    with pytest.raises(AddressBookUnreadable, match="ZABCDRECORD"):
        read_contacts(tmp_path)


def test_a_bad_source_among_good_ones_is_skipped_and_reported(tmp_path: Path, caplog) -> None:
    write_addressbook(tmp_path, {"GOOD": [JANE]})
    bad = tmp_path / "Sources" / "BROKEN" / "AddressBook-v22.abcddb"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\x00garbage" * 512)

    with caplog.at_level(logging.WARNING):
        contacts = read_contacts(tmp_path, default_region="US")

    assert [c.display_name for c in contacts] == ["Jane Appleseed"]
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "BROKEN" in record.getMessage()
    assert "Jane" not in record.getMessage() and "555" not in record.getMessage()


def test_all_sources_bad_raises(tmp_path: Path) -> None:
    for name in ("A", "B"):
        bad = tmp_path / "Sources" / name / "AddressBook-v22.abcddb"
        bad.parent.mkdir(parents=True)
        bad.write_bytes(b"garbage" * 600)
    with pytest.raises(AddressBookUnreadable):
        read_contacts(tmp_path)


def test_older_schema_without_optional_columns_is_read(tmp_path: Path) -> None:
    path = tmp_path / "Sources" / "OLD" / "AddressBook-v22.abcddb"
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE ZABCDRECORD (Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, ZFIRSTNAME VARCHAR, ZLASTNAME VARCHAR,
                                  ZUNIQUEID VARCHAR);
        CREATE TABLE ZABCDPHONENUMBER (Z_PK INTEGER PRIMARY KEY, ZOWNER INTEGER, ZFULLNUMBER VARCHAR);
        CREATE TABLE ZABCDEMAILADDRESS (Z_PK INTEGER PRIMARY KEY, ZOWNER INTEGER, ZADDRESSNORMALIZED VARCHAR);
        INSERT INTO ZABCDRECORD VALUES (1, 19, NULL, NULL, 'G1:ABGroup');
        INSERT INTO ZABCDRECORD VALUES (2, 22, 'Ada', 'Lovelace', NULL);
        INSERT INTO ZABCDPHONENUMBER VALUES (1, 2, '+44 20 7946 0000');
        INSERT INTO ZABCDEMAILADDRESS VALUES (1, 2, 'ada@example.org');
        """
    )
    conn.close()

    [ada] = read_contacts(tmp_path, default_region="US")

    assert ada.source_key == "OLD:2"
    assert (ada.display_name, ada.nickname, ada.organization) == ("Ada Lovelace", None, None)
    assert ada.phones == ("+442079460000",) and ada.emails == ("ada@example.org",)


def test_groups_and_info_rows_are_not_contacts(tmp_path: Path) -> None:
    [path] = write_addressbook(tmp_path, {"main": [JANE]})
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO ZABCDRECORD (Z_PK, Z_ENT, Z_OPT, ZNAME, ZUNIQUEID) VALUES (10, 19, 1, 'Family', 'F:ABGroup')")
        conn.execute("INSERT INTO ZABCDRECORD (Z_PK, Z_ENT, Z_OPT, ZFIRSTNAME) VALUES (11, 24, 1, 'InfoRow')")
    conn.close()
    assert [c.display_name for c in read_contacts(tmp_path, default_region="US")] == ["Jane Appleseed"]


def test_iphone_addressbook_round_trip(tmp_path: Path) -> None:
    jane = ContactSpec(
        first_name="Jane",
        last_name="Appleseed",
        phones=((LABEL_MOBILE, "+1 (555) 867-5309"), (LABEL_WORK, "+44 20 7946 0958"), (LABEL_HOME, "020 7946 0958")),
        emails=((LABEL_HOME, "Jane.Appleseed@Example.com"),),
    )
    path = write_iphone_addressbook(
        tmp_path / "AddressBook.sqlitedb",
        [jane, BAKERY, ContactSpec(first_name="Nigel", phones=((LABEL_MOBILE, "07700 900123"),))],
    )
    before = sha256(path)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT property, count(*) FROM ABMultiValue GROUP BY property").fetchall() == [(3, 5), (4, 1)]
    assert conn.execute("SELECT value FROM ABMultiValueLabel ORDER BY rowid").fetchall()[0] == (LABEL_MOBILE,)
    conn.close()

    contacts = by_name(read_iphone_addressbook(path, default_region="GB"))

    assert set(contacts) == {"Jane Appleseed", "Corner Bakery", "Nigel"}
    assert contacts["Jane Appleseed"].phones == ("+15558675309", "+442079460958")  # UK number written twice
    assert contacts["Jane Appleseed"].emails == ("jane.appleseed@example.com",)
    assert contacts["Nigel"].phones == ("+447700900123",)
    assert contacts["Corner Bakery"].phones == ("262966",)
    assert all(c.source_key.startswith("iphone:") for c in contacts.values())
    assert sha256(path) == before


def test_iphone_addressbook_errors(tmp_path: Path) -> None:
    with pytest.raises(AddressBookUnreadable, match="not found"):
        read_iphone_addressbook(tmp_path / "missing.sqlitedb")
    corrupt = tmp_path / "AddressBook.sqlitedb"
    corrupt.write_bytes(b"nope" * 1000)
    with pytest.raises(AddressBookUnreadable, match="not a database"):
        read_iphone_addressbook(corrupt)


def test_error_messages_say_what_to_do() -> None:
    home_store = Path.home() / "Library/Application Support/AddressBook/AddressBook-v22.abcddb"
    denied = AddressBookUnreadable(home_store, "unable to open database file")
    assert "Full Disk Access" in str(denied)
    assert "~/Library/Application Support/AddressBook" in str(denied)
    assert "try again" in str(AddressBookUnreadable(home_store, "database is locked"))
    assert denied.to_dict()["code"] == "addressbook_unreadable"
    assert denied.to_dict()["details"]["reason"] == "unable to open database file"


def test_reads_changes_still_in_the_wal_of_a_live_store(tmp_path: Path) -> None:
    [path] = write_addressbook(tmp_path, {"main": [JANE]})
    contacts_app = sqlite3.connect(path)  # stands in for Contacts, which keeps the store open
    try:
        contacts_app.execute("PRAGMA wal_autocheckpoint = 0")
        with contacts_app:
            contacts_app.execute("INSERT INTO ZABCDRECORD (Z_PK, Z_ENT, Z_OPT, ZFIRSTNAME) VALUES (50, 22, 1, 'Newcomer')")
        assert (tmp_path / "AddressBook-v22.abcddb-wal").stat().st_size > 0

        names = {c.display_name for c in read_contacts(tmp_path, default_region="US")}
    finally:
        contacts_app.close()
    assert names == {"Jane Appleseed", "Newcomer"}

from __future__ import annotations

import hashlib
import os
import plistlib
import sqlite3
from pathlib import Path

import pytest

from backend.errors import BackendError
from backend.source.addressbook.reader import read_iphone_addressbook
from backend.source.addressbook.writer import LABEL_MOBILE, ContactSpec, write_iphone_addressbook
from backend.source.backup import (
    ADDRESSBOOK_FILE,
    SMS_FILE,
    BackupSources,
    BackupUnreadable,
    backup_file_id,
    resolve_backup,
    write_fake_backup,
)


@pytest.fixture
def sms_db(tmp_path: Path) -> Path:
    path = tmp_path / "input" / "sms.db"
    path.parent.mkdir()
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE handle (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, service TEXT NOT NULL);
        INSERT INTO handle (id, service) VALUES ('+15558675309', 'iMessage');
        """
    )
    conn.close()
    return path


@pytest.fixture
def iphone_addressbook(tmp_path: Path) -> Path:
    return write_iphone_addressbook(
        tmp_path / "input" / "AddressBook.sqlitedb",
        [ContactSpec(first_name="Jane", last_name="Appleseed", phones=((LABEL_MOBILE, "+1 555 867 5309"),))],
    )


def test_file_ids_are_sha1_of_domain_and_path() -> None:
    assert backup_file_id(*SMS_FILE) == hashlib.sha1(b"HomeDomain-Library/SMS/sms.db").hexdigest()
    assert backup_file_id(*SMS_FILE) == "3d0d7e5fb2ce288813306e4d4636395e047a3d28"  # the well-known name


def test_resolves_messages_and_contacts_in_a_backup(tmp_path: Path, sms_db: Path, iphone_addressbook: Path) -> None:
    backup = tmp_path / "Backup" / "00008110-000A1B2C3D4E5F6A"
    write_fake_backup(backup, sms_db=sms_db, addressbook_db=iphone_addressbook)

    sources = resolve_backup(backup)

    sms_id = backup_file_id(*SMS_FILE)
    book_id = backup_file_id(*ADDRESSBOOK_FILE)
    assert sources == BackupSources(sms_db=backup / sms_id[:2] / sms_id, addressbook_db=backup / book_id[:2] / book_id)
    assert sources.sms_db.read_bytes() == sms_db.read_bytes()
    conn = sqlite3.connect(f"file:{sources.sms_db}?mode=ro", uri=True)
    assert conn.execute("SELECT id FROM handle").fetchall() == [("+15558675309",)]
    conn.close()
    [jane] = read_iphone_addressbook(sources.addressbook_db, default_region="US")
    assert (jane.display_name, jane.phones) == ("Jane Appleseed", ("+15558675309",))


def test_fake_backup_has_a_real_manifest(tmp_path: Path, sms_db: Path) -> None:
    backup = tmp_path / "backup"
    write_fake_backup(backup, sms_db=sms_db, addressbook_db=None)

    conn = sqlite3.connect(backup / "Manifest.db")
    rows = conn.execute("SELECT fileID, domain, relativePath, flags, file FROM Files ORDER BY relativePath").fetchall()
    conn.close()
    files = {(domain, path): (file_id, flags, blob) for file_id, domain, path, flags, blob in rows}
    assert files[SMS_FILE][:2] == (backup_file_id(*SMS_FILE), 1)
    assert files[("HomeDomain", "Library/SMS")][1] == 2
    archive = plistlib.loads(files[SMS_FILE][2])
    record = archive["$objects"][archive["$top"]["root"].data]
    assert record["Size"] == sms_db.stat().st_size
    assert archive["$objects"][record["RelativePath"].data] == "Library/SMS/sms.db"
    manifest = plistlib.loads((backup / "Manifest.plist").read_bytes())
    assert manifest["IsEncrypted"] is False
    assert resolve_backup(backup).addressbook_db is None
    with pytest.raises(FileExistsError):
        write_fake_backup(backup, sms_db=sms_db, addressbook_db=None)


def test_encrypted_backup_is_refused_with_what_to_do(tmp_path: Path, sms_db: Path) -> None:
    backup = tmp_path / "backup"
    write_fake_backup(backup, sms_db=sms_db, addressbook_db=None)
    manifest = plistlib.loads((backup / "Manifest.plist").read_bytes())
    (backup / "Manifest.plist").write_bytes(plistlib.dumps({**manifest, "IsEncrypted": True}))

    with pytest.raises(BackupUnreadable) as caught:
        resolve_backup(backup)

    assert "encrypted" in caught.value.reason
    assert "Encrypt local backup" in str(caught.value)


def test_unreadable_manifest_db_is_treated_as_encrypted(tmp_path: Path, sms_db: Path) -> None:
    backup = tmp_path / "backup"
    write_fake_backup(backup, sms_db=sms_db, addressbook_db=None)
    (backup / "Manifest.plist").unlink()
    (backup / "Manifest.db").write_bytes(os.urandom(8192))  # what an encrypted Manifest.db looks like

    with pytest.raises(BackupUnreadable, match="unencrypted"):
        resolve_backup(backup)


def test_missing_manifest_db_is_a_clear_error(tmp_path: Path, sms_db: Path) -> None:
    backup = tmp_path / "backup"
    write_fake_backup(backup, sms_db=sms_db, addressbook_db=None)
    (backup / "Manifest.db").unlink()

    with pytest.raises(BackupUnreadable, match="no Manifest.db"):
        resolve_backup(backup)
    with pytest.raises(BackupUnreadable, match="does not exist"):
        resolve_backup(tmp_path / "nowhere")


def test_backup_without_messages_is_a_clear_error(tmp_path: Path, sms_db: Path) -> None:
    backup = tmp_path / "backup"
    write_fake_backup(backup, sms_db=sms_db, addressbook_db=None)
    file_id = backup_file_id(*SMS_FILE)
    (backup / file_id[:2] / file_id).unlink()

    with pytest.raises(BackupUnreadable, match="no Messages database"):
        resolve_backup(backup)


def test_resolving_changes_nothing_in_the_backup(tmp_path: Path, sms_db: Path, iphone_addressbook: Path) -> None:
    backup = tmp_path / "backup"
    write_fake_backup(backup, sms_db=sms_db, addressbook_db=iphone_addressbook)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in backup.rglob("*") if p.is_file()}

    resolve_backup(backup)

    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in backup.rglob("*") if p.is_file()}
    assert after == before


def test_backup_errors_are_domain_errors(tmp_path: Path) -> None:
    with pytest.raises(BackendError) as caught:
        resolve_backup(tmp_path / "nowhere")
    assert caught.value.to_dict()["code"] == "backup_unreadable"

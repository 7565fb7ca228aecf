"""Find the Messages and Contacts databases inside an iPhone backup made by Finder or iTunes.

A backup folder (~/Library/Application Support/MobileSync/Backup/<device id>/) stores every file
under a hashed name: fileID = sha1("<domain>-<relativePath>"), at <fileID[:2]>/<fileID>.
Manifest.db (table Files) lists them; Manifest.plist says whether the backup is encrypted, in
which case Manifest.db and every file are encrypted too and cannot be read without the password.
"""

from __future__ import annotations

import hashlib
import plistlib
import shutil
import sqlite3
import uuid
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from backend.source.addressbook import display_path
from backend.source.errors import SourceDatabaseUnreadable

SMS_FILE = ("HomeDomain", "Library/SMS/sms.db")
ADDRESSBOOK_FILE = ("HomeDomain", "Library/AddressBook/AddressBook.sqlitedb")
FLAG_FILE, FLAG_DIRECTORY = 1, 2
_ENCRYPTED_ADVICE = (
    "ChatStats reads only unencrypted backups: in Finder select the iPhone, untick "
    "\"Encrypt local backup\", back up again, and choose that backup."
)


class BackupUnreadable(SourceDatabaseUnreadable):
    """An iPhone backup folder that cannot be used; the message says what to do."""

    code = "backup_unreadable"
    status_code = 422

    def __init__(self, backup_dir: Path, reason: str) -> None:
        self.backup_dir = backup_dir
        self.reason = reason
        super().__init__(
            f"Cannot use the iPhone backup {display_path(backup_dir)}: {reason}",
            path=display_path(backup_dir),
            reason=reason,
        )


@dataclass(frozen=True, slots=True)
class BackupSources:
    sms_db: Path
    addressbook_db: Path | None


def backup_file_id(domain: str, relative_path: str) -> str:
    """The hashed name under which a backup stores a file."""
    return hashlib.sha1(f"{domain}-{relative_path}".encode()).hexdigest()


def resolve_backup(backup_dir: Path) -> BackupSources:
    """The paths of sms.db and (when present) AddressBook.sqlitedb inside `backup_dir`."""
    if not backup_dir.is_dir():
        raise BackupUnreadable(backup_dir, "the folder does not exist.")
    if _is_encrypted(backup_dir):
        raise BackupUnreadable(backup_dir, f"it is encrypted. {_ENCRYPTED_ADVICE}")
    manifest = backup_dir / "Manifest.db"
    if not manifest.is_file():
        if (backup_dir / "Manifest.mbdb").is_file():
            raise BackupUnreadable(
                backup_dir, "it was made by iOS 9 or earlier (Manifest.mbdb), which is not supported."
            )
        raise BackupUnreadable(
            backup_dir,
            "it has no Manifest.db, so it is not a complete iPhone backup. Choose the folder of a "
            "finished backup (~/Library/Application Support/MobileSync/Backup/<device id>).",
        )
    file_ids = list_file_ids(manifest, backup_dir=backup_dir)
    sms_db = _stored_file(backup_dir, file_ids.get(SMS_FILE, backup_file_id(*SMS_FILE)))
    if sms_db is None:
        raise BackupUnreadable(backup_dir, "it holds no Messages database (HomeDomain Library/SMS/sms.db).")
    addressbook_db = _stored_file(backup_dir, file_ids.get(ADDRESSBOOK_FILE, backup_file_id(*ADDRESSBOOK_FILE)))
    return BackupSources(sms_db=sms_db, addressbook_db=addressbook_db)


def list_file_ids(manifest: Path, *, backup_dir: Path) -> dict[tuple[str, str], str]:
    """(domain, relativePath) -> fileID for the files ChatStats reads, from Manifest.db."""
    wanted = (SMS_FILE, ADDRESSBOOK_FILE)
    try:
        with closing(sqlite3.connect(f"file:{quote(str(manifest))}?mode=ro", uri=True)) as conn:
            rows = conn.execute(
                """
                SELECT fileID, domain, relativePath
                FROM Files
                WHERE COALESCE(flags, 1) = 1
                  AND ((domain = ? AND relativePath = ?) OR (domain = ? AND relativePath = ?))
                """,
                [part for pair in wanted for part in pair],
            ).fetchall()
    except sqlite3.DatabaseError as error:
        raise BackupUnreadable(
            backup_dir,
            f"its Manifest.db cannot be read ({error}); the backup is probably encrypted. {_ENCRYPTED_ADVICE}",
        ) from error
    return {(domain, path): file_id for file_id, domain, path in rows}


def write_fake_backup(backup_dir: Path, *, sms_db: Path, addressbook_db: Path | None) -> None:
    """An unencrypted backup folder holding copies of the given databases (tests and demo).

    Writes Manifest.db, Manifest.plist, Info.plist, Status.plist and the hashed files; refuses a
    folder that already holds a backup.
    """
    if (backup_dir / "Manifest.db").exists():
        raise FileExistsError(f"{backup_dir} already holds a backup")
    backup_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC).replace(microsecond=0)
    files = [(SMS_FILE, sms_db)] + ([(ADDRESSBOOK_FILE, addressbook_db)] if addressbook_db else [])
    directories = {("HomeDomain", "Library")} | {(domain, str(Path(path).parent)) for (domain, path), _ in files}
    rows = [
        (backup_file_id(*entry), *entry, FLAG_DIRECTORY, _mbfile_blob(entry[1], size=0, mode=0o40755, now=now))
        for entry in sorted(directories)
    ]
    for (domain, relative_path), source in files:
        file_id = backup_file_id(domain, relative_path)
        target = backup_dir / file_id[:2] / file_id
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(source, target)
        blob = _mbfile_blob(relative_path, size=target.stat().st_size, mode=0o100644, now=now)
        rows.append((file_id, domain, relative_path, FLAG_FILE, blob))
    with closing(sqlite3.connect(backup_dir / "Manifest.db")) as conn, conn:
        conn.executescript(
            """
            CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, flags INTEGER, file BLOB);
            CREATE TABLE Properties (key TEXT PRIMARY KEY, value BLOB);
            CREATE INDEX FilesDomainIdx ON Files(domain);
            CREATE INDEX FilesRelativePathIdx ON Files(relativePath);
            CREATE INDEX FilesFlagsIdx ON Files(flags);
            """
        )
        conn.executemany("INSERT INTO Files (fileID, domain, relativePath, flags, file) VALUES (?, ?, ?, ?, ?)", rows)
    device_id = uuid.uuid5(uuid.NAMESPACE_URL, str(backup_dir.resolve())).hex + "00000000"
    lockdown = {
        "DeviceName": "ChatStats Demo iPhone",
        "ProductType": "iPhone15,2",
        "ProductVersion": "17.5.1",
        "BuildVersion": "21F90",
        "UniqueDeviceID": device_id,
    }
    _write_plist(
        backup_dir / "Manifest.plist",
        {
            "IsEncrypted": False,
            "Version": "10.0",
            "Date": now,
            "SystemDomainsVersion": "24.0",
            "WasPasscodeSet": False,
            "Lockdown": lockdown,
            "Applications": {},
        },
    )
    _write_plist(
        backup_dir / "Info.plist",
        {
            "Device Name": lockdown["DeviceName"],
            "Display Name": lockdown["DeviceName"],
            "Product Type": lockdown["ProductType"],
            "Product Version": lockdown["ProductVersion"],
            "Build Version": lockdown["BuildVersion"],
            "Unique Identifier": lockdown["UniqueDeviceID"].upper(),
            "Target Identifier": lockdown["UniqueDeviceID"].upper(),
            "Target Type": "Device",
            "Last Backup Date": now,
        },
    )
    _write_plist(
        backup_dir / "Status.plist",
        {
            "IsFullBackup": False,
            "Version": "3.3",
            "UUID": str(uuid.uuid4()).upper(),
            "Date": now,
            "BackupState": "new",
            "SnapshotState": "finished",
        },
    )


def _is_encrypted(backup_dir: Path) -> bool:
    try:
        with (backup_dir / "Manifest.plist").open("rb") as file:
            manifest = plistlib.load(file)
    except (OSError, plistlib.InvalidFileException, ValueError):
        return False  # no readable Manifest.plist: Manifest.db decides
    return isinstance(manifest, dict) and bool(manifest.get("IsEncrypted"))


def _stored_file(backup_dir: Path, file_id: str) -> Path | None:
    """Where a backup keeps a file: <id[:2]>/<id> (iOS 10+), or flat <id> in older layouts."""
    for candidate in (backup_dir / file_id[:2] / file_id, backup_dir / file_id):
        if candidate.is_file():
            return candidate
    return None


def _mbfile_blob(relative_path: str, *, size: int, mode: int, now: datetime) -> bytes:
    """The NSKeyedArchiver-encoded MBFile record that Manifest.db keeps in Files.file."""
    stamp = int(now.timestamp())
    record = {
        "$class": plistlib.UID(3),
        "RelativePath": plistlib.UID(2),
        "Size": size,
        "Mode": mode,
        "UserID": 501,
        "GroupID": 501,
        "InodeNumber": int(hashlib.sha1(relative_path.encode()).hexdigest()[:8], 16),
        "Birth": stamp,
        "LastModified": stamp,
        "LastStatusChange": stamp,
        "ProtectionClass": 3,
        "Flags": 0,
    }
    archive = {
        "$version": 100000,
        "$archiver": "NSKeyedArchiver",
        "$top": {"root": plistlib.UID(1)},
        "$objects": ["$null", record, relative_path, {"$classname": "MBFile", "$classes": ["MBFile", "NSObject"]}],
    }
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY)


def _write_plist(path: Path, value: dict) -> None:
    with path.open("wb") as file:
        plistlib.dump(value, file, fmt=plistlib.FMT_XML)

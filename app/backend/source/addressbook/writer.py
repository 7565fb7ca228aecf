"""Write synthetic Contacts stores in Apple's schema, for tests and the demo-data generator.

Every function here creates a NEW file and refuses to touch one that exists: it can never be
pointed at a user's real address book. Output is deterministic (ids derive from the source id
and the card's position), so a demo built twice is the same.
"""

from __future__ import annotations

import plistlib
import re
import sqlite3
import uuid
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from backend.source.addressbook.reader import MAIN_SOURCE_ID, STORE_FILENAME

SCHEMA_PATH = Path(__file__).with_name("schema.sql")
LABEL_MOBILE = "_$!<Mobile>!$_"
LABEL_HOME = "_$!<Home>!$_"
LABEL_WORK = "_$!<Work>!$_"
LABEL_IPHONE = "iPhone"

# Entity numbers of the ABAddressBook Core Data model: (Z_ENT, Z_NAME, Z_SUPER).
ENTITIES = (
    (1, "ABCDAddressingGrammar", 0), (2, "ABCDAlertTone", 0), (3, "ABCDCalendarURI", 0),
    (4, "ABCDContactDate", 0), (5, "ABCDContactIndex", 0), (6, "ABCDCustomProperty", 0),
    (7, "ABCDCustomPropertyValue", 0), (8, "ABCDDateComponents", 0), (9, "ABCDDeletedRecordLog", 0),
    (10, "ABCDDistributionListConfig", 0), (11, "ABCDEmailAddress", 0), (12, "ABCDLikeness", 0),
    (13, "ABCDMessagingAddress", 0), (14, "ABCDNote", 0), (15, "ABCDPhoneNumber", 0),
    (16, "ABCDPostalAddress", 0), (17, "ABCDRecord", 0), (18, "ABCDAbstractGroup", 17),
    (19, "ABCDGroup", 18), (20, "ABCDSubscribedGroup", 19), (21, "ABCDSmartGroup", 18),
    (22, "ABCDContact", 17), (23, "ABCDSubscribedContact", 22), (24, "ABCDInfo", 17),
    (25, "CNCDContainer", 17), (26, "ABCDRelatedName", 0), (27, "ABCDRemoteLocation", 0),
    (28, "ABCDService", 0), (29, "ABCDSocialProfile", 0), (30, "ABCDUnknownProperty", 0),
    (31, "ABCDURLAddress", 0), (32, "CNCDChangeHistoryClient", 0), (33, "CNCDProviderMetadata", 0),
    (34, "CNCDUnifiedContactInfo", 0),
    (16001, "CHANGE", 0), (16002, "TRANSACTION", 0), (16003, "TRANSACTIONSTRING", 0),
)
ENT_EMAIL, ENT_PHONE, ENT_RECORD, ENT_CONTACT, ENT_CONTAINER = 11, 15, 17, 22, 25
# Seconds since 2001-01-01 UTC (Core Data's epoch): 2024-01-01 00:00 UTC.
DEFAULT_TIMESTAMP = 725_846_400.0
_NAMESPACE = uuid.UUID("7b0c5a3e-41f2-4d36-9d7e-3c1f0b9a2e55")
_SOURCE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True, slots=True)
class ContactSpec:
    """A card as a person would have entered it; phones/emails are (label, value) pairs."""

    first_name: str | None = None
    last_name: str | None = None
    nickname: str | None = None
    organization: str | None = None
    phones: tuple[tuple[str, str], ...] = ()
    emails: tuple[tuple[str, str], ...] = ()


def write_addressbook(addressbook_dir: Path, contacts_by_source: dict[str, list[ContactSpec]]) -> list[Path]:
    """One store per source: "main" -> AddressBook-v22.abcddb, other ids -> Sources/<id>/...

    Returns the written paths, in the order of `contacts_by_source`.
    """
    written = []
    for source_id, contacts in contacts_by_source.items():
        if source_id == MAIN_SOURCE_ID:
            path = addressbook_dir / STORE_FILENAME
        elif _SOURCE_ID.match(source_id):
            path = addressbook_dir / "Sources" / source_id / STORE_FILENAME
        else:
            raise ValueError(f"source id {source_id!r} cannot be a folder name: use letters, digits, '.', '_', '-'")
        write_store(path, contacts, source_id=source_id)
        written.append(path)
    return written


def write_store(path: Path, contacts: Iterable[ContactSpec], *, source_id: str) -> Path:
    """A new AddressBook-v22.abcddb at `path`, in WAL mode like the real stores."""
    _refuse_existing(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(SCHEMA_PATH.read_text(encoding="utf-8"))
        conn.execute("PRAGMA journal_mode = WAL")
        with conn:
            counts = _insert_cards(conn, list(contacts), source_id=source_id)
            _insert_primary_keys(conn, counts)
            store_uuid = _uuid(source_id, "store")
            conn.execute(
                "INSERT INTO Z_METADATA (Z_VERSION, Z_UUID, Z_PLIST) VALUES (1, ?, ?)",
                (store_uuid, _metadata_plist(store_uuid)),
            )
    return path


def _insert_cards(conn: sqlite3.Connection, contacts: list[ContactSpec], *, source_id: str) -> dict[int, int]:
    """Insert the container and the cards; returns Z_MAX per entity."""
    container_pk = 1
    conn.execute(
        """
        INSERT INTO ZABCDRECORD (Z_PK, Z_ENT, Z_OPT, ZTYPE, ZNAME, ZUNIQUEID, ZCREATIONDATE, ZMODIFICATIONDATE)
        VALUES (?, ?, 1, 0, ?, ?, ?, ?)
        """,
        (container_pk, ENT_CONTAINER, source_id, f"{_uuid(source_id, 'container')}:ABContainer",
         DEFAULT_TIMESTAMP, DEFAULT_TIMESTAMP),
    )
    record_pk, phone_pk, email_pk = container_pk, 0, 0
    for index, card in enumerate(contacts):
        record_pk += 1
        created = DEFAULT_TIMESTAMP + 3_600 * index
        conn.execute(
            """
            INSERT INTO ZABCDRECORD (
                Z_PK, Z_ENT, Z_OPT, ZCONTAINER1, ZDISPLAYFLAGS, ZCREATIONDATE, ZMODIFICATIONDATE,
                ZUNIQUEID, ZFIRSTNAME, ZLASTNAME, ZNICKNAME, ZORGANIZATION,
                ZSORTINGFIRSTNAME, ZSORTINGLASTNAME
            ) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            (
                record_pk, ENT_CONTACT, container_pk,
                1 if card.organization and not (card.first_name or card.last_name) else 0,
                created, created,
                f"{_uuid(source_id, 'card', index)}:ABPerson",
                card.first_name, card.last_name, card.nickname, card.organization,
                _sorting(card.first_name, card.last_name, card.organization),
                _sorting(card.last_name, card.first_name, card.organization),
            ),
        )
        for order, (label, number) in enumerate(card.phones):
            phone_pk += 1
            digits = re.sub(r"\D", "", number)
            conn.execute(
                """
                INSERT INTO ZABCDPHONENUMBER (
                    Z_PK, Z_ENT, Z_OPT, ZISPRIMARY, ZISPRIVATE, ZORDERINGINDEX, ZOWNER, Z22_OWNER,
                    ZFULLNUMBER, ZLABEL, ZLASTFOURDIGITS, ZUNIQUEID
                ) VALUES (?, ?, 1, ?, 0, ?, ?, ?, ?, ?, ?, ?)
                """,
                (phone_pk, ENT_PHONE, int(order == 0), order, record_pk, ENT_CONTACT,
                 number, label, digits[-4:] or None, _uuid(source_id, "phone", phone_pk)),
            )
        for order, (label, address) in enumerate(card.emails):
            email_pk += 1
            conn.execute(
                """
                INSERT INTO ZABCDEMAILADDRESS (
                    Z_PK, Z_ENT, Z_OPT, ZISPRIMARY, ZISPRIVATE, ZORDERINGINDEX, ZOWNER, Z22_OWNER,
                    ZADDRESS, ZADDRESSNORMALIZED, ZLABEL, ZUNIQUEID
                ) VALUES (?, ?, 1, ?, 0, ?, ?, ?, ?, ?, ?, ?)
                """,
                (email_pk, ENT_EMAIL, int(order == 0), order, record_pk, ENT_CONTACT,
                 address, address.strip().lower(), label, _uuid(source_id, "email", email_pk)),
            )
    return {ENT_RECORD: record_pk, ENT_PHONE: phone_pk, ENT_EMAIL: email_pk}


def _insert_primary_keys(conn: sqlite3.Connection, z_max: dict[int, int]) -> None:
    # Sub-entities of ABCDRecord share its table, so the root entity carries the counter.
    conn.executemany(
        "INSERT INTO Z_PRIMARYKEY (Z_ENT, Z_NAME, Z_SUPER, Z_MAX) VALUES (?, ?, ?, ?)",
        [(ent, name, parent, z_max.get(ent, 0)) for ent, name, parent in ENTITIES],
    )


def _metadata_plist(store_uuid: str) -> bytes:
    """The binary plist Core Data keeps in Z_METADATA (version hashes are stand-ins)."""
    return plistlib.dumps(
        {
            "NSPersistenceFrameworkVersion": 1344,
            "NSStoreModelVersionHashes": {
                name: sha256(name.encode()).digest() for ent, name, _parent in ENTITIES if ent < 16000
            },
            "NSStoreModelVersionHashesVersion": 3,
            "NSStoreModelVersionIdentifiers": [""],
            "NSStoreType": "SQLite",
            "NSStoreUUID": store_uuid,
            "NSPersistentHistoryTracking": True,
            "_NSAutoVacuumLevel": "2",
        },
        fmt=plistlib.FMT_BINARY,
    )


# --- iPhone AddressBook.sqlitedb (the older AddressBook framework schema, still used by iOS) ----

IPHONE_SCHEMA = """
CREATE TABLE _SqliteDatabaseProperties (key TEXT, value TEXT, UNIQUE(key));
CREATE TABLE ABStore (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, Name TEXT, ExternalIdentifier TEXT,
    Type INTEGER, ConstraintsPath TEXT, ExternalModificationTag TEXT, ExternalSyncTag TEXT,
    AccountIdentifier TEXT, Enabled INTEGER DEFAULT 1, SyncData BLOB, MeIdentifier INTEGER DEFAULT -1,
    Capabilities INTEGER DEFAULT 0, guid TEXT);
CREATE TABLE ABPerson (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, First TEXT, Last TEXT, Middle TEXT,
    FirstPhonetic TEXT, MiddlePhonetic TEXT, LastPhonetic TEXT, Organization TEXT, Department TEXT,
    Note TEXT, Kind INTEGER, Birthday TEXT, JobTitle TEXT, Nickname TEXT, Prefix TEXT, Suffix TEXT,
    FirstSort TEXT, LastSort TEXT, CreationDate INTEGER, ModificationDate INTEGER,
    CompositeNameFallback TEXT, ExternalIdentifier TEXT, ExternalModificationTag TEXT,
    ExternalUUID TEXT, StoreID INTEGER, DisplayName TEXT, ExternalRepresentation BLOB,
    FirstSortSection TEXT, LastSortSection TEXT, FirstSortLanguageIndex INTEGER DEFAULT 2147483647,
    LastSortLanguageIndex INTEGER DEFAULT 2147483647, PersonLink INTEGER DEFAULT -1, ImageURI TEXT,
    IsPreferredName INTEGER DEFAULT 1, guid TEXT NOT NULL DEFAULT (ab_generate_guid()),
    PhonemeData TEXT, AlternateBirthday TEXT, MapsData TEXT, FirstPronunciation TEXT,
    MiddlePronunciation TEXT, LastPronunciation TEXT, OrganizationPhonetic TEXT,
    OrganizationPronunciation TEXT, PreviousFamilyName TEXT, PreferredLikenessSource TEXT,
    PreferredPersonaIdentifier TEXT, PreferredChannel TEXT, UNIQUE(guid));
CREATE TABLE ABMultiValue (UID INTEGER PRIMARY KEY, record_id INTEGER, property INTEGER,
    identifier INTEGER, label INTEGER, value TEXT, guid TEXT NOT NULL DEFAULT (ab_generate_guid()),
    UNIQUE(guid));
CREATE TABLE ABMultiValueLabel (value TEXT, UNIQUE(value));
CREATE TABLE ABMultiValueEntry (parent_id INTEGER, key INTEGER, value TEXT, UNIQUE(parent_id, key));
CREATE TABLE ABMultiValueEntryKey (value TEXT, UNIQUE(value));
CREATE TABLE ABPhoneLastFour (multivalue_id INTEGER PRIMARY KEY, value TEXT);
CREATE TABLE ABGroup (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, Name TEXT, ExternalIdentifier TEXT,
    StoreID INTEGER, ExternalModificationTag TEXT, ExternalRepresentation BLOB, ExternalUUID TEXT,
    guid TEXT NOT NULL DEFAULT (ab_generate_guid()), UNIQUE(guid));
CREATE TABLE ABGroupMembers (UID INTEGER PRIMARY KEY, group_id INTEGER, member_type INTEGER,
    member_id INTEGER, UNIQUE(group_id, member_type, member_id));
CREATE INDEX ABMultiValueRecordIDIndex ON ABMultiValue(record_id);
CREATE INDEX ABPersonStoreIDIndex ON ABPerson(StoreID);
"""
IPHONE_PROPERTY_PHONE = 3
IPHONE_PROPERTY_EMAIL = 4
IPHONE_KIND_PERSON, IPHONE_KIND_ORGANIZATION = 0, 1


def write_iphone_addressbook(path: Path, contacts: Iterable[ContactSpec]) -> Path:
    """A new iPhone AddressBook.sqlitedb at `path` (as found in an iPhone backup)."""
    _refuse_existing(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as conn:
        # iOS registers this function; without it the DEFAULT clause would fail on insert.
        conn.create_function("ab_generate_guid", 0, lambda: str(uuid.uuid4()).upper())
        conn.executescript(IPHONE_SCHEMA)
        with conn:
            _insert_iphone_cards(conn, list(contacts))
    return path


def _insert_iphone_cards(conn: sqlite3.Connection, contacts: list[ContactSpec]) -> None:
    conn.execute("INSERT INTO ABStore (ROWID, Name, Type, guid) VALUES (0, 'Local', 0, ?)", (_uuid("iphone", "store"),))
    conn.executemany(
        "INSERT INTO _SqliteDatabaseProperties (key, value) VALUES (?, ?)",
        [("_ClientVersion", "20"), ("_UniqueIdentifier", _uuid("iphone", "database"))],
    )
    labels: dict[str, int] = {}

    def label_id(label: str) -> int:
        if label not in labels:
            labels[label] = conn.execute("INSERT INTO ABMultiValueLabel (value) VALUES (?)", (label,)).lastrowid or 0
        return labels[label]

    for index, card in enumerate(contacts):
        created = int(DEFAULT_TIMESTAMP) + 3_600 * index
        is_company = bool(card.organization and not (card.first_name or card.last_name))
        person_id = conn.execute(
            """
            INSERT INTO ABPerson (First, Last, Nickname, Organization, Kind, CreationDate, ModificationDate,
                                  StoreID, FirstSort, LastSort, guid)
            VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
            """,
            (card.first_name, card.last_name, card.nickname, card.organization,
             IPHONE_KIND_ORGANIZATION if is_company else IPHONE_KIND_PERSON, created, created,
             _sorting(card.first_name, card.last_name, card.organization),
             _sorting(card.last_name, card.first_name, card.organization),
             _uuid("iphone", "card", index)),
        ).lastrowid
        values = [(IPHONE_PROPERTY_PHONE, pair) for pair in card.phones]
        values += [(IPHONE_PROPERTY_EMAIL, pair) for pair in card.emails]
        identifiers = {IPHONE_PROPERTY_PHONE: 0, IPHONE_PROPERTY_EMAIL: 0}
        for prop, (label, value) in values:
            uid = conn.execute(
                """
                INSERT INTO ABMultiValue (record_id, property, identifier, label, value, guid)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
                (person_id, prop, identifiers[prop], label_id(label), value,
                 _uuid("iphone", "value", person_id, prop, identifiers[prop])),
            ).lastrowid
            identifiers[prop] += 1
            if prop == IPHONE_PROPERTY_PHONE:
                conn.execute(
                    "INSERT INTO ABPhoneLastFour (multivalue_id, value) VALUES (?, ?)",
                    (uid, re.sub(r"\D", "", value)[-4:]),
                )


def _refuse_existing(path: Path) -> None:
    if path.exists():
        raise FileExistsError(f"{path} exists: the writer only creates new synthetic databases")


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in parts))).upper()


def _sorting(primary: str | None, secondary: str | None, organization: str | None) -> str | None:
    """How Contacts sorts a card: by its names, else by its organization (lowercased)."""
    text = " ".join(n for n in (primary, secondary) if n) or organization or ""
    return text.lower() or None

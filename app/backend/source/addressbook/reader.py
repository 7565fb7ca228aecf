"""Read the user's contacts from macOS Contacts stores and iPhone address books, read-only.

macOS keeps one Core Data store per account: ~/Library/Application Support/AddressBook/
AddressBook-v22.abcddb ("main", often nearly empty) and Sources/<source id>/AddressBook-v22.abcddb
(iCloud, On My Mac, Google, Exchange...). The same person often has a card in several of them;
`merge_contacts` joins cards that share a phone number or email address.

Every store is opened with `mode=ro` (never `immutable=1`, so a live store's WAL is seen) and
columns are probed first: older macOS releases lack some of them.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from backend.source.addressbook import AddressBookUnreadable, describe_sqlite_error
from backend.source.identifiers import normalize_email, normalize_phone

logger = logging.getLogger(__name__)

STORE_FILENAME = "AddressBook-v22.abcddb"
MAIN_SOURCE_ID = "main"
IPHONE_SOURCE_ID = "iphone"

# Z_PRIMARYKEY names of the ZABCDRECORD rows that are people (the rest are groups, containers,
# account info rows); their Z_ENT numbers differ between model versions, so they are looked up.
_CONTACT_ENTITIES = ("ABCDContact", "ABCDSubscribedContact")
# Without Z_PRIMARYKEY, the suffix of ZUNIQUEID tells the kinds apart.
_NON_CONTACT_SUFFIXES = (":ABGroup", ":ABSmartGroup", ":ABContainer", ":ABInfo", ":ABAccount")
# ABMultiValue.property in the iPhone AddressBook.sqlitedb.
IPHONE_PROPERTY_PHONE = 3
IPHONE_PROPERTY_EMAIL = 4


@dataclass(frozen=True, slots=True)
class SourceContact:
    """One card in one store, with its phones and emails normalized."""

    source_key: str
    first_name: str | None
    last_name: str | None
    nickname: str | None
    organization: str | None
    display_name: str | None
    phones: tuple[str, ...]
    emails: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MergedContact:
    """One person: the cards of all stores that share an identifier."""

    key: str
    display_name: str | None
    first_name: str | None
    last_name: str | None
    nickname: str | None
    organization: str | None
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    source_keys: tuple[str, ...]


def find_addressbook_databases(addressbook_dir: Path) -> list[Path]:
    """The main store, then every Sources/*/ store (sorted); [] when the folder is missing."""
    if not addressbook_dir.is_dir():
        return []
    found = []
    main = addressbook_dir / STORE_FILENAME
    if main.is_file():
        found.append(main)
    sources = addressbook_dir / "Sources"
    if sources.is_dir():
        found.extend(sorted(path for path in sources.glob(f"*/{STORE_FILENAME}") if path.is_file()))
    return found


def source_id_for(addressbook_dir: Path, database: Path) -> str:
    """"main" for the top-level store, else the name of its Sources/<id> folder."""
    if database.parent == addressbook_dir:
        return MAIN_SOURCE_ID
    return database.parent.name


def read_contacts(addressbook_dir: Path, *, default_region: str | None = None) -> list[SourceContact]:
    """Every contact card of every store under `addressbook_dir`.

    An unreadable store is skipped with a warning when another store could be read; when none
    could, the first store's `AddressBookUnreadable` is raised.
    """
    databases = find_addressbook_databases(addressbook_dir)
    contacts: list[SourceContact] = []
    failures: list[tuple[str, AddressBookUnreadable]] = []
    for database in databases:
        source_id = source_id_for(addressbook_dir, database)
        try:
            contacts.extend(read_store(database, source_id=source_id, default_region=default_region))
        except AddressBookUnreadable as error:
            failures.append((source_id, error))
    if failures and len(failures) == len(databases):
        raise failures[0][1]
    for source_id, failure in failures:
        logger.warning("Skipping unreadable Contacts source %s: %s", source_id, failure.reason)
    return contacts


def read_store(database: Path, *, source_id: str, default_region: str | None = None) -> list[SourceContact]:
    """The contact cards of one AddressBook-v22.abcddb store."""
    try:
        with closing(_connect_read_only(database)) as conn:
            columns = _columns_by_table(conn, ("ZABCDRECORD", "ZABCDPHONENUMBER", "ZABCDEMAILADDRESS"))
            if "ZABCDRECORD" not in columns:
                raise AddressBookUnreadable(database, "not an AddressBook database: it has no ZABCDRECORD table")
            records = list_contact_records(conn, columns["ZABCDRECORD"])
            phones = list_phone_numbers(conn, columns.get("ZABCDPHONENUMBER", set()))
            emails = list_email_addresses(conn, columns.get("ZABCDEMAILADDRESS", set()))
    except sqlite3.Error as error:
        raise AddressBookUnreadable(database, describe_sqlite_error(error)) from error
    return [
        _source_contact(
            f"{source_id}:{record['unique_id'] or record['pk']}",
            record,
            phones.get(record["pk"], ()),
            emails.get(record["pk"], ()),
            default_region,
        )
        for record in records
    ]


def list_contact_records(conn: sqlite3.Connection, columns: set[str]) -> list[dict]:
    """Rows of ZABCDRECORD that are people, with the name columns that exist (else None)."""
    select = ", ".join(
        f"{column if column in columns else 'NULL'} AS {alias}"
        for column, alias in (
            ("Z_PK", "pk"),
            ("ZUNIQUEID", "unique_id"),
            ("ZFIRSTNAME", "first_name"),
            ("ZLASTNAME", "last_name"),
            ("ZNICKNAME", "nickname"),
            ("ZORGANIZATION", "organization"),
        )
    )
    entities = _contact_entities(conn) if "Z_ENT" in columns else []
    if entities:
        marks = ", ".join("?" for _ in entities)
        rows = conn.execute(f"SELECT {select} FROM ZABCDRECORD WHERE Z_ENT IN ({marks}) ORDER BY Z_PK", entities)
    else:
        rows = conn.execute(f"SELECT {select} FROM ZABCDRECORD ORDER BY Z_PK")
    records = [dict(row) for row in rows]
    return [r for r in records if not str(r["unique_id"] or "").endswith(_NON_CONTACT_SUFFIXES)]


def list_phone_numbers(conn: sqlite3.Connection, columns: set[str]) -> dict[int, list[str]]:
    """Owner Z_PK -> phone numbers as typed, in the card's order."""
    if not {"ZOWNER", "ZFULLNUMBER"} <= columns:
        return {}
    order = "ZORDERINGINDEX, " if "ZORDERINGINDEX" in columns else ""
    rows = conn.execute(
        f"""
        SELECT ZOWNER AS owner, ZFULLNUMBER AS value
        FROM ZABCDPHONENUMBER
        WHERE ZOWNER IS NOT NULL AND ZFULLNUMBER IS NOT NULL
        ORDER BY ZOWNER, {order}rowid
        """
    )
    return _group_by_owner(rows)


def list_email_addresses(conn: sqlite3.Connection, columns: set[str]) -> dict[int, list[str]]:
    """Owner Z_PK -> email addresses as typed (else as Contacts normalized them), in order."""
    sources = [c for c in ("ZADDRESS", "ZADDRESSNORMALIZED") if c in columns]
    if "ZOWNER" not in columns or not sources:
        return {}
    value = f"COALESCE({', '.join(sources)})" if len(sources) > 1 else sources[0]
    order = "ZORDERINGINDEX, " if "ZORDERINGINDEX" in columns else ""
    rows = conn.execute(
        f"""
        SELECT ZOWNER AS owner, {value} AS value
        FROM ZABCDEMAILADDRESS
        WHERE ZOWNER IS NOT NULL AND {value} IS NOT NULL
        ORDER BY ZOWNER, {order}rowid
        """
    )
    return _group_by_owner(rows)


def read_iphone_addressbook(path: Path, *, default_region: str | None = None) -> list[SourceContact]:
    """The contacts of an iPhone AddressBook.sqlitedb (from a backup): ABPerson + ABMultiValue."""
    if not path.is_file():
        raise AddressBookUnreadable(path, "file not found")
    try:
        with closing(_connect_read_only(path)) as conn:
            columns = _columns_by_table(conn, ("ABPerson", "ABMultiValue"))
            if "ABPerson" not in columns:
                raise AddressBookUnreadable(path, "not an AddressBook database: it has no ABPerson table")
            people = list_iphone_people(conn, columns["ABPerson"])
            values = list_iphone_values(conn, columns.get("ABMultiValue", set()))
    except sqlite3.Error as error:
        raise AddressBookUnreadable(path, describe_sqlite_error(error)) from error
    by_owner: dict[tuple[int, int], list[str]] = {}
    for owner, prop, value in values:
        by_owner.setdefault((owner, prop), []).append(value)
    return [
        _source_contact(
            f"{IPHONE_SOURCE_ID}:{person['unique_id'] or person['pk']}",
            person,
            by_owner.get((person["pk"], IPHONE_PROPERTY_PHONE), ()),
            by_owner.get((person["pk"], IPHONE_PROPERTY_EMAIL), ()),
            default_region,
        )
        for person in people
    ]


def list_iphone_people(conn: sqlite3.Connection, columns: set[str]) -> list[dict]:
    select = ", ".join(
        f"{column if column in columns else 'NULL'} AS {alias}"
        for column, alias in (
            ("ROWID", "pk"),
            ("guid", "unique_id"),
            ("First", "first_name"),
            ("Last", "last_name"),
            ("Nickname", "nickname"),
            ("Organization", "organization"),
        )
    )
    return [dict(row) for row in conn.execute(f"SELECT {select} FROM ABPerson ORDER BY ROWID")]


def list_iphone_values(conn: sqlite3.Connection, columns: set[str]) -> list[tuple[int, int, str]]:
    """(record_id, property, value) of phone and email multi-values, in the card's order."""
    if not {"record_id", "property", "value"} <= columns:
        return []
    order = "identifier, " if "identifier" in columns else ""
    rows = conn.execute(
        f"""
        SELECT record_id, property, value
        FROM ABMultiValue
        WHERE property IN (?, ?) AND value IS NOT NULL
        ORDER BY record_id, {order}rowid
        """,
        (IPHONE_PROPERTY_PHONE, IPHONE_PROPERTY_EMAIL),
    )
    return [(row["record_id"], row["property"], str(row["value"])) for row in rows]


def merge_contacts(contacts: list[SourceContact]) -> list[MergedContact]:
    """Join cards that share a phone number or email (transitively), one MergedContact each.

    The name comes from the best-named card (first/last > nickname > organization > none; ties go
    to the smallest source_key); a nickname or organization missing there is taken from another
    card. Phones and emails are the union, in source_key order. Sorted by key.
    """
    ordered = sorted(contacts, key=lambda c: c.source_key)
    parent = list(range(len(ordered)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner_of: dict[str, int] = {}
    for index, contact in enumerate(ordered):
        for identifier in (*contact.phones, *contact.emails):
            other = owner_of.setdefault(identifier, index)
            root_a, root_b = find(index), find(other)
            if root_a != root_b:
                parent[max(root_a, root_b)] = min(root_a, root_b)

    groups: dict[int, list[SourceContact]] = {}
    for index, contact in enumerate(ordered):
        groups.setdefault(find(index), []).append(contact)
    return sorted((_merge_group(members) for members in groups.values()), key=lambda m: m.key)


def display_name_of(first: str | None, last: str | None, nickname: str | None, organization: str | None) -> str | None:
    """"First Last", else the nickname, else the organization, else None."""
    full = " ".join(part for part in (first, last) if part)
    return full or nickname or organization or None


def _merge_group(members: list[SourceContact]) -> MergedContact:
    best = max(members, key=_name_rank)  # max() keeps the first of equals: smallest source_key
    nickname = best.nickname or next((m.nickname for m in members if m.nickname), None)
    organization = best.organization or next((m.organization for m in members if m.organization), None)
    return MergedContact(
        key=members[0].source_key,
        display_name=display_name_of(best.first_name, best.last_name, nickname, organization),
        first_name=best.first_name,
        last_name=best.last_name,
        nickname=nickname,
        organization=organization,
        phones=_unique(p for m in members for p in m.phones),
        emails=_unique(e for m in members for e in m.emails),
        source_keys=tuple(m.source_key for m in members),
    )


def _name_rank(contact: SourceContact) -> tuple[int, int]:
    if contact.first_name or contact.last_name:
        kind = 3
    elif contact.nickname:
        kind = 2
    elif contact.organization:
        kind = 1
    else:
        kind = 0
    filled = sum(1 for v in (contact.first_name, contact.last_name, contact.nickname, contact.organization) if v)
    return kind, filled


def _source_contact(
    source_key: str,
    record: dict,
    phones: Iterable[str],
    emails: Iterable[str],
    default_region: str | None,
) -> SourceContact:
    first, last, nickname, organization = (
        _clean(record[field]) for field in ("first_name", "last_name", "nickname", "organization")
    )
    return SourceContact(
        source_key=source_key,
        first_name=first,
        last_name=last,
        nickname=nickname,
        organization=organization,
        display_name=display_name_of(first, last, nickname, organization),
        phones=_unique(normalize_phone(p, default_region=default_region) for p in phones),
        emails=_unique(normalize_email(e) for e in emails),
    )


def _connect_read_only(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def _columns_by_table(conn: sqlite3.Connection, tables: Iterable[str]) -> dict[str, set[str]]:
    """{table: its column names} for those of `tables` that exist."""
    found = {}
    for table in tables:
        names = {row["name"] for row in conn.execute("SELECT name FROM pragma_table_info(?)", (table,))}
        if names:
            found[table] = names
    return found


def _contact_entities(conn: sqlite3.Connection) -> list[int]:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'Z_PRIMARYKEY'").fetchone()
    if not exists:
        return []
    marks = ", ".join("?" for _ in _CONTACT_ENTITIES)
    rows = conn.execute(f"SELECT Z_ENT FROM Z_PRIMARYKEY WHERE Z_NAME IN ({marks})", _CONTACT_ENTITIES)
    return [row["Z_ENT"] for row in rows]


def _group_by_owner(rows: Iterable[sqlite3.Row]) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = {}
    for row in rows:
        grouped.setdefault(row["owner"], []).append(str(row["value"]))
    return grouped


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))

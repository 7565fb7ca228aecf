"""Who is who, decided once for the full import and live sync alike.

People: chat.db handles resolved to contacts from the address books, or to unnamed contacts. A contact's
key is stable across imports: `ab:<merged AddressBook key>` for a person in Contacts, `id:<canonical
identifier>` for a handle nobody has named. The same person over iMessage, SMS and RCS (equal canonical
identifier, or a shared `person_centric_id`) is one contact.

Chats as the user sees them: chat.db chats with the same partner are one chat. Messages shows a person's
iMessage, SMS and RCS threads as one conversation; so do we. A 1:1 chat's key is its partner's contact
key; a named group keeps its own identity (`group_id`); an unnamed group is identified by its set of
members, so an MMS group and an iMessage group of the same people merge.

`AddressBooks` says which address books a source has (the folder and/or an iPhone backup's database),
when they changed, and reads them; `resolve` turns their contacts and the source's handles and chats
into keys. The writer (writer.py, SQL in people_repo.py) stores the result and merges what moved.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection

from backend.mirror import people_repo
from backend.source.addressbook import AddressBookUnreadable
from backend.source.addressbook.reader import (
    MergedContact,
    SourceContact,
    find_addressbook_databases,
    merge_contacts,
    read_contacts,
)
from backend.source.identifiers import canonical_handle, handle_kind

ONE_TO_ONE_STYLE = 45
UNKNOWN_CHAT_KEY = "unknown:no-chat"

# -- people ------------------------------------------------------------------------------------------

@dataclass(slots=True)
class ContactRow:
    key: str
    display_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    nickname: str | None = None
    organization: str | None = None
    source_keys: list[str] = field(default_factory=list)

    def source_keys_json(self) -> str:
        return json.dumps(sorted(self.source_keys))


@dataclass(frozen=True, slots=True)
class IdentifierRow:
    contact_key: str
    kind: str
    value: str
    from_addressbook: bool


@dataclass(frozen=True, slots=True)
class HandleRow:
    source_rowid: int
    identifier: str
    service: str
    canonical: str
    person_centric_id: str | None
    contact_key: str


@dataclass(slots=True)
class People:
    contacts: dict[str, ContactRow]
    identifiers: dict[str, IdentifierRow]  # canonical value -> row
    handles: list[HandleRow]
    handle_key_by_rowid: dict[int, str]  # chat.db handle ROWID -> contact key
    handle_canonical_by_rowid: dict[int, str]


def contact_key_for_addressbook(merged: MergedContact) -> str:
    return f"ab:{merged.key}"


def contact_key_for_identifier(canonical: str) -> str:
    return f"id:{canonical}"


def resolve_people(
    merged_contacts: list[MergedContact],
    handle_rows: list[tuple],
    *,
    default_region: str | None,
) -> People:
    """Map AddressBook people and chat.db handles (rows of HANDLE_COLUMNS) onto contacts."""
    contacts: dict[str, ContactRow] = {}
    identifiers: dict[str, IdentifierRow] = {}
    for merged in merged_contacts:
        key = contact_key_for_addressbook(merged)
        contacts[key] = ContactRow(
            key=key,
            display_name=merged.display_name,
            first_name=merged.first_name,
            last_name=merged.last_name,
            nickname=merged.nickname,
            organization=merged.organization,
            source_keys=list(merged.source_keys),
        )
        for kind, values in (("phone", merged.phones), ("email", merged.emails)):
            for value in values:
                identifiers.setdefault(value, IdentifierRow(key, kind, value, True))

    handles: list[HandleRow] = []
    key_by_rowid: dict[int, str] = {}
    canonical_by_rowid: dict[int, str] = {}
    key_by_person_centric_id: dict[str, str] = {}
    for rowid, raw_id, service, person_centric_id, _uncanonicalized, _country in handle_rows:
        raw_id = raw_id or ""
        canonical = canonical_handle(raw_id, default_region=default_region) or raw_id
        known = identifiers.get(canonical)
        if known is not None:
            key = known.contact_key
        elif person_centric_id and person_centric_id in key_by_person_centric_id:
            key = key_by_person_centric_id[person_centric_id]
            identifiers[canonical] = IdentifierRow(key, handle_kind(raw_id), canonical, False)
        else:
            key = contact_key_for_identifier(canonical)
            contacts.setdefault(key, ContactRow(key=key))
            identifiers[canonical] = IdentifierRow(key, handle_kind(raw_id), canonical, False)
        if person_centric_id:
            key_by_person_centric_id.setdefault(person_centric_id, key)
        handles.append(HandleRow(rowid, raw_id, service or "", canonical, person_centric_id, key))
        key_by_rowid[rowid] = key
        canonical_by_rowid[rowid] = canonical
    return People(contacts, identifiers, handles, key_by_rowid, canonical_by_rowid)


# -- chats -------------------------------------------------------------------------------------------

@dataclass(slots=True)
class ChatRow:
    key: str
    is_group: bool
    display_name: str | None
    service: str | None
    participant_keys: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class ChatSourceRow:
    source_guid: str
    source_rowid: int
    chat_key: str
    chat_identifier: str | None
    service: str | None
    style: int | None
    display_name: str | None
    group_id: str | None


@dataclass(slots=True)
class Chats:
    chats: dict[str, ChatRow]
    sources: list[ChatSourceRow]
    key_by_rowid: dict[int, str]


def chat_key(
    *, style: int | None, guid: str, group_id: str | None, display_name: str | None,
    participant_keys: list[str], identifier_key: str | None,
) -> str:
    """The identity of the chat a chat.db chat belongs to."""
    if style == ONE_TO_ONE_STYLE or (style is None and len(participant_keys) <= 1):
        partner = participant_keys[0] if participant_keys else identifier_key
        return f"dm:{partner}" if partner else f"chat:{guid}"
    if display_name or len(participant_keys) < 2:
        return f"group:{group_id or guid}"
    return "members:" + "|".join(sorted(participant_keys))


def resolve_chats(
    chat_rows: list[tuple],
    chat_handle_rows: list[tuple[int, int]],
    *,
    handle_key_by_rowid: dict[int, str],
    key_by_identifier: dict[str, str],
) -> Chats:
    """Group chat.db chats (rows of CHAT_COLUMNS) into chats, with their participants."""
    members: dict[int, list[str]] = defaultdict(list)
    for chat_rowid, handle_rowid in chat_handle_rows:
        key = handle_key_by_rowid.get(handle_rowid)
        if key is not None and key not in members[chat_rowid]:
            members[chat_rowid].append(key)

    chats: dict[str, ChatRow] = {}
    sources: list[ChatSourceRow] = []
    key_by_rowid: dict[int, str] = {}
    for rowid, guid, style, identifier, service, display_name, group_id in chat_rows:
        participant_keys = sorted(members.get(rowid, []))
        key = chat_key(
            style=style, guid=guid, group_id=group_id, display_name=display_name or None,
            participant_keys=participant_keys, identifier_key=key_by_identifier.get(identifier or ""),
        )
        chat = chats.get(key)
        if chat is None:
            chat = chats[key] = ChatRow(
                key=key, is_group=not key.startswith("dm:"), display_name=display_name or None, service=service
            )
        chat.participant_keys.update(participant_keys)
        if display_name and not chat.display_name:
            chat.display_name = display_name
        sources.append(ChatSourceRow(guid, rowid, key, identifier, service, style, display_name or None, group_id))
        key_by_rowid[rowid] = key
    return Chats(chats, sources, key_by_rowid)


def unknown_chat() -> ChatRow:
    """Where messages that reference no chat are kept (reported, never dropped)."""
    return ChatRow(key=UNKNOWN_CHAT_KEY, is_group=False, display_name="Messages without a chat", service=None)


# -- the address books of a source ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AddressBooks:
    """The address books read with a source: a macOS AddressBook folder and/or an iPhone backup's database."""

    folder: Path | None = None
    iphone: Path | None = None

    def files(self) -> list[Path]:
        found = find_addressbook_databases(self.folder.expanduser()) if self.folder is not None else []
        return found + ([self.iphone] if self.iphone is not None else [])

    def signature(self) -> tuple:
        """Changes whenever one of the databases (or its WAL) is written, added or removed."""
        return tuple((str(path), stat.st_mtime_ns, stat.st_size) for database in self.files()
                     for path in (database, Path(f"{database}-wal")) if (stat := _stat(path)) is not None)

    def read(self, *, default_region: str | None) -> tuple[list[SourceContact], list[AddressBookUnreadable]]:
        """Every contact card of every book that could be read, and what could not be."""
        from backend.source.addressbook.reader import read_iphone_addressbook  # noqa: PLC0415 - only for a backup

        contacts: list[SourceContact] = []
        problems: list[AddressBookUnreadable] = []
        if self.folder is not None:
            try:
                contacts.extend(read_contacts(self.folder.expanduser(), default_region=default_region))
            except AddressBookUnreadable as exc:
                problems.append(exc)
        if self.iphone is not None:
            try:
                contacts.extend(read_iphone_addressbook(self.iphone, default_region=default_region))
            except AddressBookUnreadable as exc:
                problems.append(exc)
        return contacts, problems


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


# -- both at once --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Resolution:
    people: People
    chats: Chats


def people_to_resolve(contacts: list[SourceContact], problems: list[AddressBookUnreadable],
                      remembered: Callable[[], list[MergedContact]]) -> list[MergedContact]:
    """The people of the address books as read; when one of them could not be read, the people they gave
    last time (`remembered`: people_from_mirror), so that an unreadable book (damaged, no permission, half
    synced) never turns named people into bare numbers. A book read for the first time has no past."""
    if problems:
        known = remembered()
        if known:
            return known
    return merge_contacts(contacts)


def people_from_mirror(conn: Connection) -> list[MergedContact]:
    """The address-book people the mirror holds, as MergedContacts that resolve to the same keys again."""
    people = []
    for key, display, first, last, nickname, organization, source_keys, identifiers in (
            people_repo.list_addressbook_people(conn)):
        pairs = json.loads(identifiers or "[]")
        people.append(MergedContact(
            key=key.removeprefix("ab:"), display_name=display, first_name=first, last_name=last, nickname=nickname,
            organization=organization, phones=tuple(v for kind, v in pairs if kind == "phone"),
            emails=tuple(v for kind, v in pairs if kind == "email"), source_keys=tuple(json.loads(source_keys))))
    return people


def resolve(people_of_books: list[MergedContact], handle_rows: list[tuple], chat_rows: list[tuple],
            chat_handle_rows: list[tuple[int, int]], *, default_region: str | None) -> Resolution:
    """The address books' people (people_to_resolve) and the source's handles, chats and chat members (rows
    of the reader's HANDLE_COLUMNS, CHAT_COLUMNS, chat_handle_join) resolved to contact and chat keys."""
    people = resolve_people(people_of_books, handle_rows, default_region=default_region)
    key_by_identifier = {value: ident.contact_key for value, ident in people.identifiers.items()}
    for handle in people.handles:
        key_by_identifier.setdefault(handle.identifier, handle.contact_key)
    chats = resolve_chats(chat_rows, chat_handle_rows, handle_key_by_rowid=people.handle_key_by_rowid,
                          key_by_identifier=key_by_identifier)
    return Resolution(people, chats)

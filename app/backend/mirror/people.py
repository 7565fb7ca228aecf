"""Who is who: chat.db handles resolved to contacts from the AddressBook, or to unnamed contacts.

A contact's key is stable across imports: `ab:<merged AddressBook key>` for a person in Contacts,
`id:<canonical identifier>` for a handle nobody has named. The same person over iMessage, SMS and
RCS (equal canonical identifier, or a shared `person_centric_id`) is one contact.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from backend.source.addressbook.reader import MergedContact
from backend.source.identifiers import canonical_handle, handle_kind


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

"""Who talks where: the handle and chat rows of the demo source, before any message exists.

Chats are 1:1 iMessage chats (some over an email address), the same person's SMS chat next to
their iMessage one (two handle rows: same id, other service, same person_centric_id), RCS chats,
chats with numbers that are not in Contacts, one SMS short code sending one-time codes, and group
chats whose members join, leave and rename the group over time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from backend.source.demo.content import PLANTED_TOPICS, SHORT_CODES
from backend.source.demo.people import ME_EMAIL, ME_PHONE, Person

GROUP_NAMES = ("Family 🏡", "Roommates", "Book Club 📚", "Fantasy League 🏈", "Trip Squad ✈️",
               "Work Friends", "Brunch Bunch", "The Cousins", "Hiking Crew ⛰️", "Wedding Party 💍",
               "Soccer Parents", "College Crew", "Game Night 🎲", "Neighbors", "Lisbon 2024")

ACCOUNT_EMAIL = f"E:{ME_EMAIL}"
ACCOUNT_PHONE = f"P:{ME_PHONE}"


_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_BITS = (0x4000 << 64) | (0x8000 << 48)


def new_guid(rng: random.Random) -> str:
    """An uppercase random (version 4) UUID, like Messages' guids; str(uuid.UUID(...)) but faster."""
    h = f"{(rng.getrandbits(128) & _VERSION_MASK) | _VERSION_BITS:032X}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(eq=False)
class Handle:
    rowid: int
    id: str
    service: str
    country: str
    uncanonicalized_id: str | None
    person_centric_id: str | None
    person: Person | None

    @property
    def name(self) -> str:
        return self.person.short_name if self.person else self.id


@dataclass
class ChatPlan:
    index: int
    kind: str  # "direct" | "group" | "shortcode"
    service: str  # "iMessage" | "SMS" | "RCS"
    guid: str
    chat_identifier: str
    room_name: str | None
    members: list[Handle]  # members from the start (1:1: the other person)
    account: str
    account_guid: str
    weight: float
    group_id: str
    title: str | None = None  # the group's final name
    renames: list[str] = field(default_factory=list)
    joiners: list[Handle] = field(default_factory=list)
    leavers: list[Handle] = field(default_factory=list)
    planted: list[dict] = field(default_factory=list)
    is_archived: int = 0

    @property
    def my_address(self) -> str:
        return self.account[2:]


@dataclass
class SourcePlan:
    handles: list[Handle]
    chats: list[ChatPlan]
    account_guids: dict[str, str]


class _Handles:
    """Handle rows, one per (id, service), numbered as they are first needed."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.rows: list[Handle] = []
        self._by_key: dict[tuple[str, str], Handle] = {}

    def get(self, person: Person | None, address: str, service: str) -> Handle:
        key = (address, service)
        handle = self._by_key.get(key)
        if handle is None:
            rng = self.rng
            uncanonicalized = None
            if address.startswith("+1") and (service != "iMessage" or rng.random() < 0.15):
                uncanonicalized = address[2:] if rng.random() < 0.7 else address
            if person is not None and person.person_centric_id is None and rng.random() < 0.6:
                person.person_centric_id = new_guid(rng)
            handle = Handle(
                rowid=len(self.rows) + 1, id=address, service=service,
                country="gb" if address.startswith("+44") else "us",
                uncanonicalized_id=uncanonicalized,
                person_centric_id=person.person_centric_id if person else None, person=person,
            )
            self.rows.append(handle)
            self._by_key[key] = handle
        return handle


def plan_source(rng: random.Random, people: list[Person], *, chats: int, contacts: int, topics: int) -> SourcePlan:
    """`chats` chats over `people` (the first `contacts` have cards, the rest are strangers)."""
    accounts = {"iMessage": new_guid(rng), "SMS": new_guid(rng), "RCS": new_guid(rng)}
    handles = _Handles(rng)
    known = [p for p in people[:contacts] if p.address]
    strangers = people[contacts:]
    n_group = max(1, round(chats * 0.25)) if chats >= 3 else 0
    n_short = 1 if chats >= 6 else 0
    n_direct = chats - n_group - n_short
    n_twin = max(1, n_direct // 12) if n_direct >= 4 else 0
    n_rcs = max(1, n_direct // 20) if n_direct >= 6 else 0
    n_stranger = min(len(strangers), max(1, n_direct // 12)) if n_direct >= 5 else 0
    n_plain = n_direct - 2 * n_twin - n_rcs - n_stranger
    if len(known) < n_plain + n_twin + n_rcs:  # few contacts: strangers fill the 1:1 chats
        extra = n_plain + n_twin + n_rcs - len(known)
        n_stranger += extra
    plans: list[ChatPlan] = []

    def add(kind: str, service: str, guid: str, identifier: str, room: str | None, members: list[Handle]) -> ChatPlan:
        account = ACCOUNT_PHONE if service != "iMessage" or rng.random() < 0.25 else ACCOUNT_EMAIL
        plan = ChatPlan(
            index=len(plans), kind=kind, service=service, guid=guid, chat_identifier=identifier,
            room_name=room, members=members, account=account, account_guid=accounts[service],
            weight=0.0, group_id=new_guid(rng),
        )
        plans.append(plan)
        return plan

    def direct(person: Person, service: str, address: str | None = None) -> ChatPlan:
        address = address or person.address
        handle = handles.get(person, address, service)
        return add("direct", service, f"{service};-;{address}", address, None, [handle])

    with_phone = [p for p in known if p.phone]
    partners: list[Person] = []
    taken: set[int] = set()
    # The UK/US pairs (people 3-6) get chats first, so both sides of each pair are handles.
    for person in [*people[3:7], *known]:
        if len(partners) < n_plain + n_twin + n_rcs and person.in_contacts and person.index not in taken:
            taken.add(person.index)
            partners.append(person)
    pool = [p for p in known if p.index not in taken]
    # SMS twins and RCS chats need a phone number; they come from the end of the list.
    phoned = [p for p in reversed(partners[4:]) if p.phone]
    twins, rcs = phoned[:n_twin], phoned[n_twin:n_twin + n_rcs]
    special = {p.index for p in [*twins, *rcs]}
    for person in partners:
        if person.index not in special:
            direct(person, "iMessage")
    for person in twins:
        person.person_centric_id = person.person_centric_id or new_guid(rng)
        direct(person, "iMessage", person.phone)
        direct(person, "SMS", person.phone)
    for person in rcs:
        direct(person, "RCS", person.phone)
    for person in strangers[:n_stranger]:
        direct(person, "SMS" if rng.random() < 0.5 else "iMessage", person.phone)
    while len(plans) < n_direct and with_phone:  # too few people for distinct chats: SMS twins
        person = with_phone[len(plans) % len(with_phone)]
        if ("SMS", person.phone) in {(c.service, c.chat_identifier) for c in plans}:
            break
        direct(person, "SMS", person.phone)
    if n_short:
        code = SHORT_CODES[rng.randrange(len(SHORT_CODES))]
        add("shortcode", "SMS", f"SMS;-;{code}", code, None, [handles.get(None, code, "SMS")])
    # People of the 1:1 chats first (a friend is in groups too), then other contacts; once each.
    first_seen = [*(c.members[0].person for c in plans if c.kind == "direct"), *pool]
    friends = list({p.index: p for p in first_seen if p is not None and p.in_contacts}.values())
    for number in range(chats - len(plans)):
        room = "chat" + "".join(str(rng.randrange(10)) for _ in range(18))
        size = min(len(friends), rng.choice((2, 3, 3, 4, 4, 5, 6, 8)))
        chosen = rng.sample(friends[: max(size, 40)], size) if friends else []
        members = [handles.get(p, p.address, "iMessage") for p in chosen]
        if strangers and rng.random() < 0.2:
            stranger = strangers[rng.randrange(len(strangers))]
            members.append(handles.get(stranger, stranger.phone or stranger.address, "iMessage"))
        plan = add("group", "iMessage", f"iMessage;+;{room}", room, room, members)
        plan.account = ACCOUNT_EMAIL
        if rng.random() < 0.65:
            plan.renames = [GROUP_NAMES[(number + k) % len(GROUP_NAMES)] for k in range(rng.choice((1, 1, 2, 3)))]
            plan.title = plan.renames[-1]
        chosen_ids = {p.index for p in chosen}
        others = [p for p in friends if p.index not in chosen_ids]
        for _ in range(rng.choice((0, 0, 1, 1, 2))):
            if others:
                person = others.pop(rng.randrange(len(others)))
                plan.joiners.append(handles.get(person, person.address, "iMessage"))
        if len(members) >= 3 and rng.random() < 0.35:
            plan.leavers.append(members[rng.randrange(1, len(members))])
    _weigh(rng, plans)
    _plant_topics(rng, plans, topics)
    for plan in plans:
        plan.is_archived = int(plan.kind == "direct" and rng.random() < 0.05)
    return SourcePlan(handles.rows, plans, accounts)


def _weigh(rng: random.Random, plans: list[ChatPlan]) -> None:
    """Zipf-like activity: a few chats carry most messages."""
    order = list(range(len(plans)))
    rng.shuffle(order)
    for rank, index in enumerate(order):
        plan = plans[index]
        plan.weight = 1.0 / (rank + 1) ** 0.85
        if plan.kind == "shortcode":
            plan.weight = 0.004
        elif plan.service == "SMS":
            plan.weight *= 0.3


def _plant_topics(rng: random.Random, plans: list[ChatPlan], topics: int) -> None:
    directs = [p for p in plans if p.kind == "direct" and p.service == "iMessage" and p.members[0].person
               and p.members[0].person.in_contacts]
    groups = [p for p in plans if p.kind == "group" and p.members]
    for number, topic in enumerate(PLANTED_TOPICS[:topics]):
        wants_group = any(speaker == "any" for speaker, _ in topic["script"])
        candidates = groups if wants_group and groups else directs or groups
        if not candidates:
            return
        candidates[(number * 7 + rng.randrange(len(candidates))) % len(candidates)].planted.append(topic)

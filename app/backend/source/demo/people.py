"""The people of the demo source: names, addresses, and their contact cards as typed.

Phones are E.164 in chat.db and typed by hand in Contacts ("(415) 555-0123", "415.555.0123").
US numbers use the fictional 555-01xx lines of real area codes. A few UK mobiles (+44 7...) have
the same last ten digits as a US number of another person: they must never be merged.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from backend.source.addressbook.writer import (
    LABEL_HOME,
    LABEL_IPHONE,
    LABEL_MOBILE,
    LABEL_WORK,
    ContactSpec,
)

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas", "Mia",
    "Mateo", "Amelia", "Ethan", "Harper", "Benjamin", "Evelyn", "Henry", "Abigail", "Theo", "Emily",
    "Jack", "Ella", "Levi", "Scarlett", "Owen", "Grace", "Daniel", "Chloe", "Samuel", "Priya",
    "Wei", "Aisha", "Diego", "Yuki", "Fatima", "Omar", "Sofia", "Hannah", "Kenji", "Nora", "Ravi",
    "Zoe", "Marcus", "Leah", "Andre", "Maya", "Julian", "Ines", "Tomas", "Dana", "Chris", "Alex",
    "Jordan", "Taylor", "Morgan", "Sam", "Jamie", "Robin", "Casey", "Rosa", "Hugo", "Clara", "Felix",
    "Lena", "Oscar", "Ruth", "Nina", "Victor", "Eli", "Iris", "Max", "Ada", "Kofi", "Mei", "Luca",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez",
    "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen",
    "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell",
    "Patel", "Kim", "Chen", "Okafor", "Silva", "Novak", "Kowalski", "O'Brien", "Murphy", "Fischer",
    "Rossi", "Tanaka", "Haddad", "Schmidt", "Dubois", "Larsen", "Costa", "Ivanova", "Singh", "Cohen",
)
NICKNAMES = ("Mom", "Dad", "Grandma", "Bestie", "Coach", "Doc", "Sis", "Bro", "Boss", "Neighbor")
ORGANIZATIONS = ("Acme Corp", "Stripe", "Kaiser Permanente", "Google", "City Hospital",
                 "Blue Bottle Coffee", "Lincoln High School", "Wells Fargo", "REI", "Local 12")
ORG_ONLY = ("Dr. Patel's Office", "Sunrise Dental", "Joe's Plumbing", "Green Cab Co.",
            "Main St Vet Clinic", "Luigi's Pizza", "Bright Futures Daycare", "Hair by Nina")
EMAIL_DOMAINS = ("gmail.com", "icloud.com", "me.com", "yahoo.com", "outlook.com", "hotmail.com",
                 "proton.me", "fastmail.com")
AREA_CODES = (
    "212", "213", "206", "303", "305", "310", "312", "323", "347", "404", "408", "415", "425",
    "469", "503", "510", "512", "602", "617", "619", "646", "650", "702", "713", "718", "720",
    "737", "773", "786", "818", "857", "917", "919", "929", "971", "978", "201", "224", "267",
    "281", "314", "339", "385", "401", "470", "504", "516", "541", "571", "607", "612", "628",
)
# US area codes that start with 7: "+1 7xx" and "+44 7xx" share their last ten digits.
US_AREA_CODES_7 = ("718", "720", "732", "757", "770", "773", "781", "786")

ME_PHONE = "+14155550100"
ME_EMAIL = "me@icloud.com"


@dataclass(eq=False)
class Person:
    """Someone the user messages; `in_contacts` people have a card."""

    index: int
    first_name: str | None
    last_name: str | None
    nickname: str | None = None
    organization: str | None = None
    phone: str | None = None  # E.164
    country: str = "us"
    email: str | None = None
    in_contacts: bool = True
    prefers_email: bool = False
    person_centric_id: str | None = None
    extra_cards: list[str] = field(default_factory=list)  # sources holding an unnamed duplicate

    @property
    def address(self) -> str:
        """The address they use for iMessage."""
        if self.prefers_email and self.email:
            return self.email
        return self.phone or self.email or ""

    @property
    def short_name(self) -> str:
        return self.first_name or self.nickname or self.organization or "Sam"


def make_people(rng: random.Random, *, contacts: int, strangers: int) -> list[Person]:
    """`contacts` people with a card, then `strangers` numbers without one."""
    total = contacts + strangers
    lines = rng.sample(range(len(AREA_CODES) * 100), min(total, len(AREA_CODES) * 100))
    people: list[Person] = []
    used_emails: dict[str, int] = {}
    for index in range(total):
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        person = Person(index=index, first_name=first, last_name=last, in_contacts=index < contacts)
        line = lines[index % len(lines)]
        person.phone = f"+1{AREA_CODES[line // 100]}55501{line % 100:02d}"
        if index >= len(lines):  # more people than fictional lines: use 555-02xx and up
            person.phone = f"+1{AREA_CODES[line // 100]}5550{2 + index // len(lines)}{line % 100:02d}"
        roll = rng.random()
        if person.in_contacts and roll < 0.55:
            person.email = _email(rng, first, last, used_emails)
            person.prefers_email = rng.random() < 0.2
        elif person.in_contacts and roll < 0.62:
            person.email = _email(rng, first, last, used_emails)
            person.phone = None
        if person.in_contacts and rng.random() < 0.06:
            person.nickname = rng.choice(NICKNAMES)
        if person.in_contacts and rng.random() < 0.2:
            person.organization = rng.choice(ORGANIZATIONS)
        if not person.in_contacts:
            person.first_name = person.last_name = None
            person.email = None
        elif index >= 8 and index % 60 == 59:  # a business card: no name, an organization
            person.first_name = person.last_name = person.nickname = person.email = None
            person.organization = ORG_ONLY[(index // 60) % len(ORG_ONLY)]
            person.prefers_email = False
        people.append(person)
    _plant_uk_twins(rng, people, contacts)
    return people


def _email(rng: random.Random, first: str, last: str, used: dict[str, int]) -> str:
    local = rng.choice((f"{first}.{last}", f"{first}{last}", f"{first[0]}{last}", f"{first}_{last[:1]}"))
    local = local.lower().replace("'", "")
    domain = rng.choice(EMAIL_DOMAINS)
    address = f"{local}@{domain}"
    count = used.get(address, 0)
    used[address] = count + 1
    return address if count == 0 else f"{local}{count + 1}@{domain}"


def _plant_uk_twins(rng: random.Random, people: list[Person], contacts: int) -> None:
    """Give two pairs of contacts a UK mobile and a US number with equal last ten digits."""
    if contacts < 8:
        return
    for pair in range(2):
        uk, us = people[3 + 2 * pair], people[4 + 2 * pair]
        nsn = f"{US_AREA_CODES_7[rng.randrange(len(US_AREA_CODES_7))]}55501{rng.randrange(100):02d}"
        uk.phone, uk.country, uk.prefers_email = f"+44{nsn}", "gb", False
        us.phone, us.prefers_email = f"+1{nsn}", False


def typed_phone(rng: random.Random, e164: str) -> str:
    """A phone number the way someone typed it into Contacts."""
    if e164.startswith("+44"):
        nsn = e164[3:]
        return rng.choice((f"+44 {nsn[:4]} {nsn[4:]}", f"0044 {nsn[:4]} {nsn[4:]}", f"+44{nsn}"))
    area, exchange, line = e164[2:5], e164[5:8], e164[8:]
    return rng.choice((
        f"({area}) {exchange}-{line}", f"{area}.{exchange}.{line}", f"+1 {area} {exchange} {line}",
        f"{area}-{exchange}-{line}", f"+1{area}{exchange}{line}", f"1 ({area}) {exchange}-{line}",
        f"{area}{exchange}{line}", f"+1 ({area}) {exchange}-{line}",
    ))


def contact_cards(rng: random.Random, people: list[Person], source_ids: list[str]) -> dict[str, list[ContactSpec]]:
    """Cards per source id (weights 8% / 77% / 15%); about 5% of people with a phone also have an
    unnamed duplicate card in the next source that shares that phone."""
    cards: dict[str, list[ContactSpec]] = {source: [] for source in source_ids}
    weights = (0.08, 0.77, 0.15)[: len(source_ids)]
    for person in people:
        if not person.in_contacts:
            continue
        home = rng.choices(source_ids, weights=weights)[0]
        phones: tuple[tuple[str, str], ...] = ()
        if person.phone:
            label = rng.choice((LABEL_MOBILE, LABEL_MOBILE, LABEL_IPHONE, LABEL_HOME, LABEL_WORK))
            phones = ((label, typed_phone(rng, person.phone)),)
        emails = ((rng.choice((LABEL_HOME, LABEL_WORK)), person.email),) if person.email else ()
        cards[home].append(ContactSpec(
            first_name=person.first_name, last_name=person.last_name, nickname=person.nickname,
            organization=person.organization, phones=phones, emails=emails,
        ))
        if person.phone and len(source_ids) > 1 and (person.index in (1, 2) or rng.random() < 0.05):
            other = source_ids[(source_ids.index(home) + 1) % len(source_ids)]
            cards[other].append(ContactSpec(phones=((LABEL_MOBILE, typed_phone(rng, person.phone)),)))
            person.extra_cards.append(other)
    return cards

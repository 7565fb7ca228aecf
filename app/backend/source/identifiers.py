"""Normalization of the identifiers that link a Messages handle to a contact.

chat.db stores a handle as the address the message came from ("+15558675309", "jane@icloud.com",
"262966", "urn:biz:..."); Contacts stores numbers as a person typed them ("(555) 867-5309").
Both sides go through `canonical_handle` so that equal addresses compare equal.

Phone numbers become E.164 with the `phonenumbers` package. Numbers are never matched on their
last digits: +1 361 234 5678, +33 6 12 34 56 78 and +49 36 1234 5678 share their last ten
digits and are three different people.
"""

from __future__ import annotations

import functools
import locale
import os
import plistlib
import re
import sys
from pathlib import Path

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

FALLBACK_REGION = "US"

# The macOS user's region ("en_GB", "de_DE@calendar=gregorian"); read on macOS only.
_GLOBAL_PREFERENCES = Path.home() / "Library" / "Preferences" / ".GlobalPreferences.plist"

_EMAIL_SHAPE = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]+$")
# What a person types into a phone field: digits, a leading plus, separators, letters of
# vanity numbers ("1-800-FLOWERS") and an extension ("ext. 12", "x12").
_PHONE_SHAPE = re.compile(r"^\+?[0-9A-Za-z\s().\-/#*,;]+$")
# A handle id that is a number: no letters (alphanumeric SMS senders like "Uber2FA" are "other").
_HANDLE_PHONE_SHAPE = re.compile(r"^\+?[0-9\s().\-/]+$")
_SHORT_CODE_SHAPE = re.compile(r"^[0-9][0-9\s\-]*$")
_SHORT_CODE_DIGITS = range(3, 7)  # SMS short codes are 3-6 digits ("12345", "262966")
_URI_PREFIXES = ("tel:", "sms:", "mailto:")


def normalize_phone(raw: str, *, default_region: str | None = None) -> str | None:
    """E.164 ("+15558675309") for a phone number, the digits of a short code, or None.

    A number without a country code is read in `default_region` (default: `system_region()`).
    An international number written with the "00" prefix is understood from any region.
    A number that cannot be a complete number in its country (too short, too long, local-only
    like "867-5309") gives None.
    """
    text = _strip_uri_prefix(raw)
    if not text or "@" in text or not _PHONE_SHAPE.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    if not digits:
        return None
    if _SHORT_CODE_SHAPE.match(text) and len(digits) in _SHORT_CODE_DIGITS:
        return digits
    region = _region_or_default(default_region)
    candidates = [text]
    if text.startswith("00"):
        candidates.append("+" + text[2:])
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, None if candidate.startswith("+") else region)
        except NumberParseException:
            continue
        if phonenumbers.is_possible_number_with_reason(number) == ValidationResult.IS_POSSIBLE:
            return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return None


def normalize_email(raw: str) -> str | None:
    """The address lowercased and stripped ("Jane.Doe@Example.COM " -> "jane.doe@example.com")."""
    text = _strip_uri_prefix(raw).lower()
    if not _EMAIL_SHAPE.match(text):
        return None
    return text


def handle_kind(raw: str) -> str:
    """"email", "phone" or "other" (business chats, alphanumeric SMS senders, anything else)."""
    text = _strip_uri_prefix(raw)
    if "@" in text:
        return "email" if normalize_email(text) else "other"
    if _HANDLE_PHONE_SHAPE.match(text) and len(re.sub(r"\D", "", text)) >= 3:
        return "phone"
    return "other"


def canonical_handle(raw: str, *, default_region: str | None = None) -> str:
    """The form of a handle id under which it is stored and matched against contacts.

    email -> normalized email; phone -> E.164 (short codes -> digits); anything that cannot be
    normalized (e.g. "urn:biz:...", "AMAZON") -> the original text, stripped.
    """
    kind = handle_kind(raw)
    normalized: str | None = None
    if kind == "email":
        normalized = normalize_email(raw)
    elif kind == "phone":
        normalized = normalize_phone(raw, default_region=default_region)
    return normalized if normalized is not None else (raw or "").strip()


@functools.cache
def system_region() -> str:
    """The region a number without country code is read in: the user's macOS region, then the
    process locale (LC_ALL / LC_CTYPE / LANG), then "US". Callers with a configured region pass
    `default_region=` instead."""
    candidates: list[str | None] = []
    if sys.platform == "darwin":
        candidates.append(_apple_locale())
    candidates.append(locale.getlocale()[0])
    candidates.extend(os.environ.get(name) for name in ("LC_ALL", "LC_CTYPE", "LANG"))
    for name in candidates:
        region = region_from_locale_name(name)
        if region:
            return region
    return FALLBACK_REGION


def region_from_locale_name(name: str | None) -> str | None:
    """"en_GB.UTF-8" -> "GB", "de_DE@calendar=gregorian" -> "DE", "C"/"POSIX"/"en" -> None."""
    if not name:
        return None
    base = re.split(r"[.@]", name, maxsplit=1)[0]
    for part in reversed(re.split(r"[_-]", base)[1:]):
        region = part.upper()
        if region in phonenumbers.SUPPORTED_REGIONS:
            return region
    return None


def _apple_locale() -> str | None:
    try:
        with _GLOBAL_PREFERENCES.open("rb") as file:
            value = plistlib.load(file).get("AppleLocale")
    except (OSError, plistlib.InvalidFileException, ValueError):
        return None
    return value if isinstance(value, str) else None


def _region_or_default(region: str | None) -> str:
    if region:
        upper = region.upper()
        if upper in phonenumbers.SUPPORTED_REGIONS:
            return upper
        raise ValueError(f"unknown phone region {region!r}: use an ISO 3166 code such as 'US' or 'GB'")
    return system_region()


def _strip_uri_prefix(raw: str | None) -> str:
    text = (raw or "").strip()
    lowered = text.lower()
    for prefix in _URI_PREFIXES:
        if lowered.startswith(prefix):
            return text[len(prefix):].strip()
    return text

from __future__ import annotations

import plistlib

import pytest

from backend.source import identifiers
from backend.source.identifiers import (
    canonical_handle,
    handle_kind,
    normalize_email,
    normalize_phone,
    region_from_locale_name,
)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(555) 867-5309", "US", "+15558675309"),
        ("555.867.5309", "US", "+15558675309"),
        ("+1 555-867-5309", "GB", "+15558675309"),
        ("1-555-867-5309", "US", "+15558675309"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("0044 20 7946 0958", "US", "+442079460958"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("+49 30 901820", "US", "+4930901820"),
        ("+1 604 555 0100 ext. 12", None, "+16045550100"),
        ("tel:+15558675309", None, "+15558675309"),
        ("1-800-FLOWERS", "US", "+18003569377"),
    ],
)
def test_normalize_phone_gives_e164(raw: str, region: str | None, expected: str) -> None:
    assert normalize_phone(raw, default_region=region or "US") == expected


def test_numbers_without_country_code_follow_the_region() -> None:
    assert normalize_phone("020 7946 0958", default_region="GB") == "+442079460958"
    assert normalize_phone("030 901820", default_region="DE") == "+4930901820"
    assert normalize_phone("(555) 867-5309", default_region="us") == "+15558675309"


def test_countries_with_equal_last_ten_digits_stay_apart() -> None:
    numbers = {
        normalize_phone("+1 361 234 5678"),
        normalize_phone("+33 6 12 34 56 78"),
        normalize_phone("+49 36 1234 5678"),
    }
    assert numbers == {"+13612345678", "+33612345678", "+493612345678"}
    assert normalize_phone("+1 555 123 4567") != normalize_phone("+44 555 123 4567")


@pytest.mark.parametrize(("raw", "expected"), [("12345", "12345"), ("262966", "262966"), ("262-966", "262966"), ("911", "911")])
def test_short_codes_are_kept_as_digits(raw: str, expected: str) -> None:
    assert normalize_phone(raw, default_region="US") == expected
    assert canonical_handle(raw, default_region="GB") == expected


@pytest.mark.parametrize("raw", ["", "   ", "867-5309", "+12", "+1234567890123456789", "hello", "jane@example.com", "12"])
def test_impossible_phone_numbers_give_none(raw: str) -> None:
    assert normalize_phone(raw, default_region="US") is None


def test_unknown_region_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown phone region"):
        normalize_phone("555 867 5309", default_region="XX")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Jane.Doe@Example.COM ", "jane.doe@example.com"),
        ("mailto:Bob@icloud.com", "bob@icloud.com"),
        ("first+tag@sub.example.co.uk", "first+tag@sub.example.co.uk"),
        ("not an email", None),
        ("a@b", None),
        ("two@@example.com", None),
        ("spaces in@example.com", None),
        ("", None),
    ],
)
def test_normalize_email(raw: str, expected: str | None) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "kind", "canonical"),
    [
        ("+15558675309", "phone", "+15558675309"),
        ("5558675309", "phone", "+15558675309"),
        ("Jane@iCloud.com", "email", "jane@icloud.com"),
        ("262966", "phone", "262966"),
        ("urn:biz:1a2b3c4d-0000-1111-2222-333344445555", "other", "urn:biz:1a2b3c4d-0000-1111-2222-333344445555"),
        ("  AMAZON ", "other", "AMAZON"),
        ("Uber2FA", "other", "Uber2FA"),
        ("+1234", "phone", "+1234"),
    ],
)
def test_canonical_handle_and_kind(raw: str, kind: str, canonical: str) -> None:
    assert handle_kind(raw) == kind
    assert canonical_handle(raw, default_region="US") == canonical


@pytest.mark.parametrize(
    ("name", "region"),
    [("en_GB.UTF-8", "GB"), ("de_DE@calendar=gregorian", "DE"), ("zh-Hant_TW", "TW"), ("C", None), ("en", None), (None, None)],
)
def test_region_from_locale_name(name: str | None, region: str | None) -> None:
    assert region_from_locale_name(name) == region


def test_system_region_reads_the_macos_region_then_the_locale(tmp_path, monkeypatch) -> None:
    preferences = tmp_path / ".GlobalPreferences.plist"
    preferences.write_bytes(plistlib.dumps({"AppleLocale": "fr_FR"}, fmt=plistlib.FMT_BINARY))
    monkeypatch.setattr(identifiers, "_GLOBAL_PREFERENCES", preferences)
    monkeypatch.setattr(identifiers.sys, "platform", "darwin")
    identifiers.system_region.cache_clear()
    try:
        assert identifiers.system_region() == "FR"
        assert normalize_phone("06 12 34 56 78") == "+33612345678"

        monkeypatch.setattr(identifiers.sys, "platform", "linux")
        monkeypatch.setattr(identifiers.locale, "getlocale", lambda: (None, None))
        monkeypatch.setenv("LC_ALL", "")
        monkeypatch.setenv("LC_CTYPE", "")
        monkeypatch.setenv("LANG", "en_AU.UTF-8")
        identifiers.system_region.cache_clear()
        assert identifiers.system_region() == "AU"

        monkeypatch.setenv("LANG", "C.UTF-8")
        identifiers.system_region.cache_clear()
        assert identifiers.system_region() == "US"
    finally:
        identifiers.system_region.cache_clear()

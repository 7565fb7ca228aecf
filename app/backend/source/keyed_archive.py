"""NSKeyedArchiver archives (binary plists, `bplist00`), as some `message.attributedBody` values are stored.

A keyed archive is a plist {"$archiver": "NSKeyedArchiver", "$top": {"root": UID}, "$objects": [...]}
whose objects refer to each other by UID (an index into $objects). An NSAttributedString is a dict
with "NSString" (a UID of a str or of {"NS.string": str}), and optionally "NSAttributes" (a UID of one
attribute dictionary, or of an NSArray {"NS.objects": [UID...]}) and "NSAttributeInfo" (bytes: one
(UTF-16 length, attribute index) pair of unsigned varints per run).

Bounded for any input (see DECODERS.md): MAX_ARCHIVE_BYTES of data, at most MAX_ARCHIVE_OBJECTS
objects, MAX_VISITS UIDs followed per archive (plus VISITS_PER_ATTRIBUTES per attribute dictionary the
archive lists, so a message of many runs has room and the work stays linear in the size),
MAX_ARCHIVE_DEPTH nested containers, and a cycle is never followed twice. Errors raise `KeyedArchiveError`.
"""

from __future__ import annotations

import plistlib
from dataclasses import dataclass
from typing import Any

SIGNATURE = b"bplist00"
MAX_ARCHIVE_BYTES = 1 << 20
MAX_ARCHIVE_OBJECTS = 50_000
# A followed UID costs ~5 us: 10,000 let a 578-byte archive of arrays that share their items take 50-60 ms.
MAX_VISITS = 200
VISITS_PER_ATTRIBUTES = 16
MAX_ARCHIVE_DEPTH = 20
MAX_RUNS = 100_000


class KeyedArchiveError(ValueError):
    """Not a keyed archive we can read, or over one of the limits."""


@dataclass(frozen=True, slots=True)
class KeyedString:
    """What an archived NSAttributedString (or NSString) holds: its text and runs of
    (UTF-16 length, attributes as plain values)."""

    text: str
    runs: tuple[tuple[int, dict[str, Any]], ...]


def is_keyed_archive(data: bytes) -> bool:
    return data[:8] == SIGNATURE


def decode_keyed_string(data: bytes) -> KeyedString:
    if len(data) > MAX_ARCHIVE_BYTES:
        raise KeyedArchiveError(f"keyed archive of {len(data)} bytes is over the {MAX_ARCHIVE_BYTES}-byte limit")
    try:
        root = plistlib.loads(data, fmt=plistlib.FMT_BINARY)
    except Exception as exc:  # noqa: BLE001 - plistlib raises many types on malformed input
        raise KeyedArchiveError(f"not a binary property list: {exc!r:.120}") from None
    if not isinstance(root, dict) or root.get("$archiver") != "NSKeyedArchiver":
        raise KeyedArchiveError("binary property list is not an NSKeyedArchiver archive")
    objects = root.get("$objects")
    top = root.get("$top")
    if not isinstance(objects, list) or not isinstance(top, dict):
        raise KeyedArchiveError("keyed archive has no $objects or $top")
    if len(objects) > MAX_ARCHIVE_OBJECTS:
        raise KeyedArchiveError(f"keyed archive has {len(objects)} objects (limit {MAX_ARCHIVE_OBJECTS})")
    archive = _Archive(objects)
    string = archive.resolve(top.get("root"))
    if isinstance(string, str):
        return KeyedString(string, ())
    if not isinstance(string, dict):
        raise KeyedArchiveError("archive root is not a string")
    text = archive.string(string.get("NSString", string.get("NS.string")))
    if text is None:
        raise KeyedArchiveError("archived string holds no characters")
    return KeyedString(text, archive.runs(string, text))


class _Archive:
    def __init__(self, objects: list[Any]) -> None:
        self.objects = objects
        self.visits = MAX_VISITS

    def resolve(self, value: Any) -> Any:
        """Follow a UID to its object (a UID that points at a UID is followed too, within the budget)."""
        seen = 0
        while isinstance(value, plistlib.UID):
            self.visits -= 1
            seen += 1
            if self.visits < 0 or seen > MAX_ARCHIVE_DEPTH:
                raise KeyedArchiveError(f"keyed archive follows too many references (over its budget: MAX_VISITS = "
                                        f"{MAX_VISITS}, + {VISITS_PER_ATTRIBUTES} per attribute dictionary) "
                                        f"or a chain of more than {MAX_ARCHIVE_DEPTH}")
            if not 0 <= value.data < len(self.objects):
                raise KeyedArchiveError(f"reference {value.data} outside $objects ({len(self.objects)})")
            value = self.objects[value.data]
        return value

    def string(self, value: Any) -> str | None:
        value = self.resolve(value)
        if isinstance(value, dict):
            value = self.resolve(value.get("NS.string"))
        if isinstance(value, bytes):  # NS.bytes of an NSMutableString written as data
            return value.decode("utf-8", "replace")
        return value if isinstance(value, str) else None

    def plain(self, value: Any, depth: int = 0, path: frozenset[int] = frozenset()) -> Any:
        """A Foundation value as plain Python (dicts by NS.keys/NS.objects, arrays, strings, numbers)."""
        value = self.resolve(value)
        if depth > MAX_ARCHIVE_DEPTH or id(value) in path:
            return None
        if isinstance(value, dict):
            inner = path | {id(value)}
            if "NS.keys" in value and "NS.objects" in value:
                keys, values = self.resolve(value["NS.keys"]), self.resolve(value["NS.objects"])
                if isinstance(keys, list) and isinstance(values, list):
                    return {_key(self.plain(k, depth + 1, inner)): self.plain(v, depth + 1, inner)
                            for k, v in zip(keys, values, strict=False)}
            if "NS.objects" in value:
                items = self.resolve(value["NS.objects"])
                return [self.plain(v, depth + 1, inner) for v in items] if isinstance(items, list) else None
            if "NS.string" in value:
                return self.string(value)
            if "NS.relative" in value:  # NSURL
                return self.string(value["NS.relative"])
            return None
        if isinstance(value, list):
            inner = path | {id(value)}
            return [self.plain(v, depth + 1, inner) for v in value]
        return value if isinstance(value, str | int | float | bool | bytes) else None

    def runs(self, string: dict, text: str) -> tuple[tuple[int, dict[str, Any]], ...]:
        info = self.resolve(string.get("NSAttributeInfo"))
        listed = self.resolve(string.get("NSAttributes"))
        items = self.resolve(listed.get("NS.objects")) if isinstance(listed, dict) else None
        if isinstance(items, list):  # room for each dictionary listed (bounded by the archive's size)
            self.visits += VISITS_PER_ATTRIBUTES * len(items)
        attributes = self.plain(listed)
        if not isinstance(attributes, list):
            attributes = [attributes] if isinstance(attributes, dict) else []
        attributes = [a if isinstance(a, dict) else {} for a in attributes]
        units = len(text.encode("utf-16-le", "surrogatepass")) // 2
        if isinstance(info, dict):
            info = self.resolve(info.get("NS.bytes"))
        if not isinstance(info, bytes):  # one run over the whole string
            return ((units, attributes[0]),) if attributes else ()
        numbers = _varints(info)
        runs = []
        for k in range(0, len(numbers) - 1, 2):
            length, index = numbers[k], numbers[k + 1]
            if index >= len(attributes):
                raise KeyedArchiveError(f"attribute run names attributes {index} of {len(attributes)}")
            runs.append((length, attributes[index]))
        return tuple(runs)


def _varints(data: bytes) -> list[int]:
    numbers, value, shift = [], 0, 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        shift += 7
        if shift > 63:
            raise KeyedArchiveError("attribute run number is longer than 64 bits")
        if not byte & 0x80:
            numbers.append(value)
            value, shift = 0, 0
            if len(numbers) > 2 * MAX_RUNS:
                raise KeyedArchiveError(f"more than {MAX_RUNS} attribute runs")
    return numbers


def _key(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return f"<{type(value).__name__} key>"
    return value


def encode_keyed_string(text: str, runs: list[tuple[int, dict[str, Any]]] | None = None) -> bytes:
    """An NSKeyedArchiver archive of an NSAttributedString (for tests and the demo): `runs` are
    (UTF-16 length, {attribute: str | int}) pairs; default one run with part 0."""
    units = len(text.encode("utf-16-le", "surrogatepass")) // 2
    runs = runs if runs is not None else [(units, {"__kIMMessagePartAttributeName": 0})]
    objects: list[Any] = ["$null"]

    def add(value: Any) -> plistlib.UID:
        objects.append(value)
        return plistlib.UID(len(objects) - 1)

    string_class = add({"$classname": "NSString", "$classes": ["NSString", "NSObject"]})
    dict_class = add({"$classname": "NSDictionary", "$classes": ["NSDictionary", "NSObject"]})
    array_class = add({"$classname": "NSArray", "$classes": ["NSArray", "NSObject"]})
    root_class = add({"$classname": "NSAttributedString", "$classes": ["NSAttributedString", "NSObject"]})
    string = add({"NS.string": text, "$class": string_class})
    dictionaries, info = [], b""
    for index, (length, attributes) in enumerate(runs):
        keys = [add(k) for k in attributes]
        values = [add(v) for v in attributes.values()]
        dictionaries.append(add({"NS.keys": keys, "NS.objects": values, "$class": dict_class}))
        info += _encode_varint(length) + _encode_varint(index)
    attributes_array = add({"NS.objects": dictionaries, "$class": array_class})
    root = add({"NSString": string, "NSAttributes": attributes_array, "NSAttributeInfo": info,
                "$class": root_class})
    archive = {"$version": 100000, "$archiver": "NSKeyedArchiver", "$top": {"root": root}, "$objects": objects}
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY, sort_keys=False)


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)

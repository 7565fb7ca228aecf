"""Encode NSArchiver typedstreams (little-endian, version 4, system version 1000).

The writer mirrors what `reader.py` reads: a header, then typed groups (a shared type string such as
"@" or "iI" followed by one value per type). Objects carry a class chain and end with END (0x86).
Strings (type strings, class names, C-string contents) are shared: written once after NEW (0x84),
then referred to by label. Objects, classes and C strings share a second table of labels.
"""

from __future__ import annotations

import struct
from collections.abc import Hashable, Iterable

from backend.source.typedstream.reader import (
    END,
    FLOAT_TAG,
    INT16_TAG,
    INT32_TAG,
    INT64_TAG,
    NEW,
    NIL,
    REFERENCE_BASE,
    SIGNATURE_LE,
    STREAM_VERSION,
    SYSTEM_VERSION,
)

_INT16 = struct.Struct("<h")
_INT32 = struct.Struct("<i")
_DOUBLE = struct.Struct("<d")

ClassChain = tuple[tuple[str, int], ...]
"""A class and its superclasses, most derived first: (("NSString", 1), ("NSObject", 0))."""

# Class chains (name, version) as macOS archives them.
OBJECT_CLASS: ClassChain = (("NSObject", 0),)
STRING_CLASS: ClassChain = (("NSString", 1), *OBJECT_CLASS)
MUTABLE_STRING_CLASS: ClassChain = (("NSMutableString", 1), *STRING_CLASS)
ATTRIBUTED_STRING_CLASS: ClassChain = (("NSAttributedString", 0), *OBJECT_CLASS)
MUTABLE_ATTRIBUTED_STRING_CLASS: ClassChain = (("NSMutableAttributedString", 0), *ATTRIBUTED_STRING_CLASS)
DICTIONARY_CLASS: ClassChain = (("NSDictionary", 0), *OBJECT_CLASS)
NUMBER_CLASS: ClassChain = (("NSNumber", 0), ("NSValue", 0), *OBJECT_CLASS)
URL_CLASS: ClassChain = (("NSURL", 0), *OBJECT_CLASS)


class URL(str):
    """A value to archive as an NSURL rather than an NSString."""


def encode_int(value: int) -> bytes:
    """The typedstream encoding of an integer: one byte when it is not a tag, else 0x81/0x82/0x87 + LE."""
    if -110 <= value <= 127:
        return bytes((value & 0xFF,))
    if -0x8000 <= value <= 0x7FFF:
        return bytes((INT16_TAG,)) + _INT16.pack(value)
    if -0x8000_0000 <= value <= 0x7FFF_FFFF:
        return bytes((INT32_TAG,)) + _INT32.pack(value)
    if -(1 << 63) <= value < (1 << 63):
        return bytes((INT64_TAG,)) + value.to_bytes(8, "little", signed=True)
    raise ValueError(f"integer {value} does not fit the 64 bits a typedstream integer can hold")


class TypedStreamWriter:
    """Build a typedstream. Call `begin_group` with a type string, then write one value per type."""

    def __init__(self) -> None:
        self._out = bytearray()
        self._strings: dict[bytes, int] = {}
        self._objects: dict[Hashable, int] = {}
        self._object_count = 0
        self._out += bytes((STREAM_VERSION, len(SIGNATURE_LE))) + SIGNATURE_LE
        self._out += encode_int(SYSTEM_VERSION)

    def getvalue(self) -> bytes:
        return bytes(self._out)

    # --- primitives -------------------------------------------------------------------------
    def write_int(self, value: int) -> None:
        self._out += encode_int(value)

    def write_double(self, value: float) -> None:
        """A real: as an integer when it is integral (as Apple does), else 0x83 + 8 bytes LE."""
        if value == int(value) and -0x8000_0000 <= value <= 0x7FFF_FFFF:
            self.write_int(int(value))
        else:
            self._out.append(FLOAT_TAG)
            self._out += _DOUBLE.pack(value)

    def _write_label(self, index: int) -> None:
        self.write_int(index + REFERENCE_BASE)

    def write_shared_string(self, value: bytes) -> None:
        index = self._strings.get(value)
        if index is not None:
            self._write_label(index)
            return
        self._strings[value] = len(self._strings)
        self._out.append(NEW)
        self.write_int(len(value))
        self._out += value

    def begin_group(self, types: str) -> None:
        """Start a typed group: the type string, shared ("@", "iI", "+", "*", ...)."""
        self.write_shared_string(types.encode("ascii"))

    def write_unshared_bytes(self, value: bytes) -> None:
        """A '+' value: length, then the bytes themselves."""
        self.write_int(len(value))
        self._out += value

    def write_char_array(self, value: bytes) -> None:
        """A '[Nc]' value: exactly N bytes, no length (the type string carries it)."""
        self._out += value

    def write_c_string(self, value: bytes) -> None:
        """A '*' value: NEW + shared string the first time (it takes an object label), then a label."""
        key = ("*", value)
        index = self._objects.get(key)
        if index is not None:
            self._write_label(index)
            return
        self._register(key)
        self._out.append(NEW)
        self.write_shared_string(value)

    def write_nil(self) -> None:
        self._out.append(NIL)

    # --- objects ----------------------------------------------------------------------------
    def _register(self, key: Hashable | None) -> None:
        if key is not None:
            self._objects[key] = self._object_count
        self._object_count += 1

    def _write_class(self, chain: ClassChain) -> None:
        for name, version in chain:
            key = ("#", name)
            index = self._objects.get(key)
            if index is not None:
                self._write_label(index)
                return
            self._register(key)
            self._out.append(NEW)
            self.write_shared_string(name.encode("utf-8"))
            self.write_int(version)
        self._out.append(NIL)

    def write_reference(self, key: Hashable) -> bool:
        """Write a label for an object registered under `key`; False when there is none."""
        index = self._objects.get(key)
        if index is None:
            return False
        self._write_label(index)
        return True

    def begin_object(self, chain: ClassChain, *, key: Hashable | None = None) -> None:
        """Start a new object of class chain[0]; `key` lets later values refer back to it."""
        self._register(key)
        self._out.append(NEW)
        self._write_class(chain)

    def end_object(self) -> None:
        self._out.append(END)

    # --- Foundation values ------------------------------------------------------------------
    def write_string_object(self, value: str, *, mutable: bool = False, shared: bool = True) -> None:
        """An NS(Mutable)String; `shared`: an equal string written before is referred to."""
        key = ("NSString", value) if shared and not mutable else None
        if key is not None and self.write_reference(key):
            return
        self.begin_object(MUTABLE_STRING_CLASS if mutable else STRING_CLASS, key=key)
        self.begin_group("+")
        self.write_unshared_bytes(value.encode("utf-8", "surrogatepass"))
        self.end_object()

    def write_number_object(self, value: int) -> None:
        """An NSNumber holding an int ("i"); equal numbers are written once, then referred to."""
        key = ("NSNumber", value)
        if self.write_reference(key):
            return
        self.begin_object(NUMBER_CLASS, key=key)
        self.begin_group("*")
        self.write_c_string(b"i")
        self.begin_group("i")
        self.write_int(value)
        self.end_object()

    def write_url_object(self, url: str) -> None:
        """An NSURL with no base URL: a flag (0), then its string."""
        self.begin_object(URL_CLASS)
        self.begin_group("c")
        self.write_int(0)
        self.begin_group("@")
        self.write_string_object(str(url), shared=False)
        self.end_object()

    def write_value_object(self, value: str | int) -> None:
        """A str (NSString), `URL` (NSURL) or int (NSNumber)."""
        if isinstance(value, URL):
            self.write_url_object(value)
        elif isinstance(value, int):
            self.write_number_object(value)
        else:
            self.write_string_object(str(value))

    def write_dictionary_object(self, items: Iterable[tuple[str | int, str | int]]) -> None:
        """An NSDictionary: its count ("i"), then key and value, each as its own "@" group."""
        items = list(items)
        self.begin_object(DICTIONARY_CLASS)
        self.begin_group("i")
        self.write_int(len(items))
        for key, value in items:
            self.begin_group("@")
            self.write_value_object(key)
            self.begin_group("@")
            self.write_value_object(value)
        self.end_object()

"""Read NSArchiver typedstreams into a small object graph, without knowing any class.

Layout (public: NeXTSTEP typedstream, as documented by imessage-exporter's crabstep):

- header: version byte (4), a length-prefixed signature ("streamtyped" little-endian, "typedstream"
  big-endian), then the system version as an integer (1000);
- then typed groups until the data ends: a shared type string ("@", "iI", "+", "[535c]", ...) then
  one value per type in it;
- integers are one signed byte unless tagged: 0x81 + 2 bytes, 0x82 + 4 bytes, 0x87 + 8 bytes; reals
  are 0x83 + 4/8 bytes, or an integer when integral;
- 0x84 NEW starts a new string/object/class, 0x85 NIL is a null, 0x86 END closes an object; any other
  value is a label: (value - (-110)) indexes a table of what came before (0x92 is entry 0);
- two tables: shared strings (type strings, class names, C-string contents) and objects (objects,
  classes and '*' C strings, in the order their NEW was read);
- an object is NEW, its class chain (NEW name version ... NIL, or a label for a known class), then
  typed groups until END.

Errors raise `TypedStreamError`; what was read before the error stays in `reader.groups` and in the
objects already built (values are appended as they are read), so callers can recover a prefix.

Work is bounded for any input (see source/DECODERS.md): at most MAX_STREAM_BYTES of data, MAX_DEPTH
nested objects, MAX_OBJECTS table entries; every reference is one read of at least one byte, so the
size bounds them; `foundation_value` follows at most MAX_VISITS values per call and never a cycle.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

STREAM_VERSION = 4
SIGNATURE_LE = b"streamtyped"
SIGNATURE_BE = b"typedstream"
SYSTEM_VERSION = 1000

INT16_TAG = 0x81
INT32_TAG = 0x82
FLOAT_TAG = 0x83
INT64_TAG = 0x87
NEW = 0x84
NIL = 0x85
END = 0x86
REFERENCE_BASE = -110  # label 0x92 is table entry 0

MAX_DEPTH = 100
MAX_STREAM_BYTES = 1 << 20  # attributedBody is a few hundred bytes; 1 MiB is a very long message
MAX_OBJECTS = 50_000  # objects, classes and C strings in one stream
MAX_VISITS = 200  # values foundation_value looks at in one call (shared references count each time);
# real bodies look at fewer than 10, and a visit costs 4-10 us: 200 keep a hostile blob near a millisecond.
VISITS_PER_DICTIONARY = 16  # a caller's budget may grow by this much per dictionary it reads (linear in size)
_TAG_SIZES = {INT16_TAG: 2, INT32_TAG: 4, INT64_TAG: 8}
_SIGNED_TYPES = frozenset("csilqB")
_UNSIGNED_TYPES = frozenset("CSILQ")


class TypedStreamError(ValueError):
    """The data is not a well-formed typedstream; `offset` says where reading stopped."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} at byte {offset}")
        self.offset = offset


class TruncatedBytes(bytes):
    """A '+' or array value whose declared length ran past the end of the data: what was there."""

    declared_length: int = 0


@dataclass(slots=True, eq=False)
class Class:
    name: str
    version: int
    superclass: Class | None = None
    _names: tuple[str, ...] | None = None

    def chain(self) -> tuple[str, ...]:
        """This class's name and its superclasses' names, most derived first (read it when the
        stream is read: it is cached)."""
        if self._names is None:
            names: list[str] = []
            cls: Class | None = self
            seen = 0
            while cls is not None and seen < MAX_DEPTH:
                names.append(cls.name)
                cls, seen = cls.superclass, seen + 1
            self._names = tuple(names)
        return self._names

    def is_kind_of(self, name: str) -> bool:
        return name in self.chain()


@dataclass(slots=True)
class TypedGroup:
    """One type string and the values it introduced (filled in as they are read)."""

    types: str
    values: list[Any] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Object:
    """An archived object: its class and the typed groups its -encodeWithCoder: wrote."""

    cls: Class | None
    groups: list[TypedGroup] = field(default_factory=list)
    complete: bool = False

    @property
    def class_name(self) -> str | None:
        return self.cls.name if self.cls is not None else None

    def is_kind_of(self, name: str) -> bool:
        return self.cls is not None and self.cls.is_kind_of(name)

    def values(self) -> list[Any]:
        """All values of all groups, in order (how most Foundation classes are read)."""
        return [value for group in self.groups for value in group.values]


# A parsed type: a one-character code, ("[", count, element) or ("{", name, fields).
TypeSpec = Any


@lru_cache(maxsize=512)
def parse_type_string(types: str) -> tuple[TypeSpec, ...]:
    """Split an Objective-C type encoding string into one spec per value."""
    specs: list[TypeSpec] = []
    pos = 0
    while pos < len(types):
        spec, pos = _parse_one_type(types, pos, 0)
        specs.append(spec)
    return tuple(specs)


def _parse_one_type(types: str, pos: int, depth: int) -> tuple[TypeSpec, int]:
    if depth > 20:
        raise ValueError(f"type string {types!r} nests too deeply")
    char = types[pos]
    if char == "[":
        digits_end = pos + 1
        while digits_end < len(types) and types[digits_end].isdigit():
            digits_end += 1
        if digits_end == pos + 1 or digits_end >= len(types):
            raise ValueError(f"bad array type in {types!r}")
        element, after = _parse_one_type(types, digits_end, depth + 1)
        if after >= len(types) or types[after] != "]":
            raise ValueError(f"unterminated array type in {types!r}")
        return ("[", int(types[pos + 1 : digits_end]), element), after + 1
    if char == "{":
        equals = types.find("=", pos)
        if equals < 0:
            raise ValueError(f"bad struct type in {types!r}")
        fields: list[TypeSpec] = []
        cursor = equals + 1
        while cursor < len(types) and types[cursor] != "}":
            spec, cursor = _parse_one_type(types, cursor, depth + 1)
            fields.append(spec)
        if cursor >= len(types):
            raise ValueError(f"unterminated struct type in {types!r}")
        return ("{", types[pos + 1 : equals], tuple(fields)), cursor + 1
    if char in "csilqBCSILQfd@#:*+%":
        return char, pos + 1
    raise ValueError(f"unsupported type {char!r} in {types!r}")


class TypedStreamReader:
    """Reads one typedstream. `read_all()` fills and returns `groups`; raises TypedStreamError."""

    def __init__(self, data: bytes) -> None:
        if len(data) > MAX_STREAM_BYTES:
            raise TypedStreamError(f"typedstream of {len(data)} bytes is over the {MAX_STREAM_BYTES}-byte limit", 0)
        self.data = data
        self.pos = 0
        self.strings: list[bytes] = []
        self.objects: list[Any] = []  # Object | Class | bytes (C strings)
        self.groups: list[TypedGroup] = []
        self.system_version: int | None = None
        self._little = True
        self._depth = 0

    # --- low level --------------------------------------------------------------------------
    def _fail(self, message: str, offset: int | None = None) -> TypedStreamError:
        return TypedStreamError(message, self.pos if offset is None else offset)

    def _byte(self) -> int:
        pos = self.pos
        if pos >= len(self.data):
            raise self._fail("unexpected end of data")
        self.pos = pos + 1
        return self.data[pos]

    def _take(self, count: int) -> bytes:
        start = self.pos
        end = start + count
        if count < 0:
            raise self._fail(f"negative length {count}")
        if end > len(self.data):
            raise self._fail(f"{count} bytes declared but only {len(self.data) - start} remain")
        self.pos = end
        return self.data[start:end]

    def _tagged(self, tag: int, signed: bool) -> int:
        raw = self._take(_TAG_SIZES[tag])
        return int.from_bytes(raw, "little" if self._little else "big", signed=signed)

    def read_int(self, *, unsigned: bool = False) -> int:
        start = self.pos
        tag = self._byte()
        if tag < 0x80:
            return tag
        if tag in _TAG_SIZES:
            return self._tagged(tag, not unsigned)
        if tag >= 0x92:
            return tag if unsigned else tag - 0x100
        raise self._fail(f"expected an integer, found tag 0x{tag:02x}", start)

    def read_real(self, size: int) -> float:
        start = self.pos
        tag = self._byte()
        if tag == FLOAT_TAG:
            raw = self._take(size)
            fmt = ("<" if self._little else ">") + ("f" if size == 4 else "d")
            return struct.unpack(fmt, raw)[0]
        self.pos = start
        return float(self.read_int())

    def _label(self, tag: int, table: list[Any], what: str) -> Any:
        """Resolve a reference whose first byte `tag` was just read."""
        start = self.pos - 1
        if tag in _TAG_SIZES:
            value = self._tagged(tag, True)
        elif 0x80 <= tag < 0x92:
            raise self._fail(f"expected a {what} reference, found tag 0x{tag:02x}", start)
        else:
            value = tag - 0x100 if tag > 0x7F else tag
        index = value - REFERENCE_BASE
        if not 0 <= index < len(table):
            raise self._fail(f"{what} reference {index} out of range (table has {len(table)})", start)
        return table[index]

    def read_shared_string(self) -> bytes | None:
        data = self.data
        pos = self.pos
        tag = data[pos]
        index = _LABEL[tag]
        strings = self.strings
        if 0 <= index < len(strings):
            self.pos = pos + 1
            return strings[index]
        if tag == NEW:
            size = data[pos + 1]
            end = pos + 2 + size
            if size < 0x80 and end <= len(data):
                value = data[pos + 2 : end]
                self.pos = end
            else:
                self.pos = pos + 1
                value = self._take(self.read_int(unsigned=True))
            strings.append(value)
            return value
        self.pos = pos + 1
        if tag == NIL:
            return None
        return self._label(tag, strings, "string")

    # --- header and groups ------------------------------------------------------------------
    def read_header(self) -> None:
        version = self._byte()
        if version != STREAM_VERSION:
            raise self._fail(f"unsupported typedstream version {version}", 0)
        signature = self._take(self._byte())
        if signature == SIGNATURE_LE:
            self._little = True
        elif signature == SIGNATURE_BE:
            self._little = False
        else:
            raise self._fail(f"not a typedstream (signature {signature!r})", 1)
        self.system_version = self.read_int()

    def read_all(self) -> list[TypedGroup]:
        try:
            self.read_header()
            self._read_groups()
        except IndexError:  # the fast paths index `data` directly; running off its end lands here
            raise self._fail("unexpected end of data") from None
        return self.groups

    def _read_groups(self) -> None:
        """Top-level groups to the end of the data. One loop with an explicit stack of open
        objects: the same reading as `_read_group`/`read_object`, inlined for speed."""
        data = self.data
        size = len(data)
        strings = self.strings
        objects = self.objects
        label = _LABEL
        type_cache = _TYPE_CACHE
        stack: list[tuple[Any, Object | None, tuple[TypeSpec, ...], int, list[Any]]] = []
        groups: list[TypedGroup] = self.groups  # of the innermost open object, or top level
        obj: Object | None = None
        specs: tuple[TypeSpec, ...] = ()
        i = 0
        values: list[Any] = []
        pos = self.pos
        while True:
            if i < len(specs):
                spec = specs[i]
                i += 1
                if spec == "@":
                    tag = data[pos]
                    if tag == NEW:
                        if len(stack) >= MAX_DEPTH:
                            raise self._fail("objects nest too deeply", pos)
                        pos += 1
                        if len(objects) >= MAX_OBJECTS:
                            raise self._fail(f"more than {MAX_OBJECTS} objects", pos)
                        child = Object(None)
                        objects.append(child)
                        values.append(child)
                        index = label[data[pos]]
                        if 0 <= index < len(objects) and type(objects[index]) is Class:
                            child.cls = objects[index]
                            pos += 1
                        else:
                            self.pos = pos
                            child.cls = self.read_class()
                            pos = self.pos
                        stack.append((groups, obj, specs, i, values))
                        groups, obj, specs, i = child.groups, child, (), 0
                        continue
                    index = label[tag]
                    if 0 <= index < len(objects):
                        values.append(objects[index])
                        pos += 1
                    elif tag == NIL:
                        values.append(None)
                        pos += 1
                    else:
                        self.pos = pos + 1
                        values.append(self._label(tag, objects, "object"))
                        pos = self.pos
                    continue
                if spec == "+":
                    length = data[pos]
                    end = pos + 1 + length
                    if length < 0x80 and end <= size:
                        values.append(data[pos + 1 : end])
                        pos = end
                        continue
                self.pos = pos
                value = self._read_value(spec)
                pos = self.pos
                values.append(value)
                if type(value) is TruncatedBytes:
                    raise self._fail(
                        f"{value.declared_length} bytes declared but only {len(value)} remain"
                    )
                continue
            # the group is complete: the enclosing object ends, or another group starts
            if obj is not None:
                if data[pos] == END:
                    pos += 1
                    obj.complete = True
                    groups, obj, specs, i, values = stack.pop()
                    continue
            elif pos >= size:
                break
            start = pos
            index = label[data[pos]]
            if 0 <= index < len(strings):
                raw = strings[index]
                pos += 1
            else:
                self.pos = pos
                raw = self.read_shared_string()  # type: ignore[assignment]  # None only for a nil string
                pos = self.pos
            parsed = type_cache.get(raw)
            if parsed is None:
                self.pos = pos
                parsed = self._parse_types(raw, start)
            group = TypedGroup(parsed[0])
            groups.append(group)
            values = group.values
            specs = parsed[1]
            i = 0
        self.pos = pos

    def _parse_types(self, raw: bytes | None, start: int) -> tuple[str, tuple[TypeSpec, ...]]:
        if raw is None:
            raise self._fail("expected a type string, found nil", start)
        try:
            types = raw.decode("ascii")
            parsed = (types, parse_type_string(types))
        except (UnicodeDecodeError, ValueError, IndexError) as exc:
            raise self._fail(f"bad type string {raw[:40]!r} ({exc})", start) from None
        if len(_TYPE_CACHE) < 1024:
            _TYPE_CACHE[raw] = parsed
        return parsed

    def _types_at(self, start: int) -> tuple[str, tuple[TypeSpec, ...]]:
        """The type string at `start` (a label, NEW or NIL), parsed; cached across streams."""
        raw = self.read_shared_string()
        parsed = _TYPE_CACHE.get(raw) if raw is not None else None
        return parsed if parsed is not None else self._parse_types(raw, start)

    def _read_group(self, groups: list[TypedGroup]) -> None:
        types, specs = self._types_at(self.pos)
        group = TypedGroup(types)
        groups.append(group)
        values = group.values
        data = self.data
        for spec in specs:
            if spec == "@":
                self.read_object(values)  # appended before it is filled, for recovery
                continue
            if spec == "+":  # fast path: a short string
                pos = self.pos
                size = data[pos]
                end = pos + 1 + size
                if size < 0x80 and end <= len(data):
                    values.append(data[pos + 1 : end])
                    self.pos = end
                    continue
            value = self._read_value(spec)
            values.append(value)
            if type(value) is TruncatedBytes:
                raise self._fail(
                    f"{value.declared_length} bytes declared but only {len(value)} remain"
                )

    # --- values -----------------------------------------------------------------------------
    def _read_value(self, spec: TypeSpec) -> Any:
        if spec == "@":
            return self.read_object()
        if spec == "+":
            count = self.read_int(unsigned=True)
            return self._take_or_truncated(count)
        if spec in _SIGNED_TYPES:
            return self.read_int()
        if spec in _UNSIGNED_TYPES:
            return self.read_int(unsigned=True)
        if spec == "*":
            return self.read_c_string()
        if spec == "d":
            return self.read_real(8)
        if spec == "f":
            return self.read_real(4)
        if spec == "#":
            return self.read_class()
        if spec == ":" or spec == "%":
            return self.read_shared_string()
        kind = spec[0]
        if kind == "[":
            _, count, element = spec
            if element in ("c", "C"):
                return self._take_or_truncated(count)
            if count > len(self.data):
                raise self._fail(f"array of {count} values is longer than the data")
            return [self._read_value(element) for _ in range(count)]
        # struct
        return [self._read_value(field_spec) for field_spec in spec[2]]

    def _take_or_truncated(self, count: int) -> bytes:
        remaining = len(self.data) - self.pos
        if count <= remaining:
            start = self.pos
            self.pos = start + count
            return self.data[start : self.pos]
        partial = TruncatedBytes(self.data[self.pos :])
        partial.declared_length = count
        self.pos = len(self.data)
        return partial

    def read_c_string(self) -> bytes | None:
        tag = self._byte()
        if tag == NEW:
            if len(self.objects) >= MAX_OBJECTS:
                raise self._fail(f"more than {MAX_OBJECTS} objects", self.pos - 1)
            value = self.read_shared_string()
            self.objects.append(value)
            return value
        if tag == NIL:
            return None
        value = self._label(tag, self.objects, "C string")
        if value is not None and not isinstance(value, bytes):
            raise self._fail("C string reference points at an object", self.pos - 1)
        return value

    def read_class(self) -> Class | None:
        data = self.data
        objects = self.objects
        first: Class | None = None
        previous: Class | None = None
        for _ in range(MAX_DEPTH):
            start = self.pos
            tag = data[start]
            if tag == NIL:
                self.pos = start + 1
                return first
            if tag == NEW:
                self.pos = start + 1
                if len(objects) >= MAX_OBJECTS:
                    raise self._fail(f"more than {MAX_OBJECTS} objects", start)
                cls = Class("", 0)
                objects.append(cls)
                name = self.read_shared_string()
                if name is None:
                    raise self._fail("class without a name", start)
                cls.name = name.decode("utf-8", "replace")
                version = data[self.pos]
                if version < 0x80:
                    cls.version = version
                    self.pos += 1
                else:
                    cls.version = self.read_int()
            else:
                self.pos = start + 1
                cls = self._label(tag, objects, "class")
                if not isinstance(cls, Class):
                    raise self._fail("class reference points at a non-class", start)
            if previous is None:
                first = cls
            else:
                previous.superclass = cls
            if tag != NEW:
                return first
            previous = cls
        raise self._fail("class chain too long")

    def read_object(self, into: list[Any] | None = None) -> Any:
        """An '@' value; with `into`, append it there as soon as it exists (before its contents)."""
        data = self.data
        objects = self.objects
        start = self.pos
        tag = data[start]
        if tag != NEW:
            index = _LABEL[tag]
            if 0 <= index < len(objects):
                value = objects[index]
                self.pos = start + 1
            elif tag == NIL:
                value = None
                self.pos = start + 1
            else:
                self.pos = start + 1
                value = self._label(tag, objects, "object")
            if into is not None:
                into.append(value)
            return value
        if self._depth >= MAX_DEPTH:
            raise self._fail("objects nest too deeply", start)
        self.pos = start + 1
        if len(objects) >= MAX_OBJECTS:
            raise self._fail(f"more than {MAX_OBJECTS} objects", start)
        obj = Object(None)
        objects.append(obj)
        if into is not None:
            into.append(obj)
        index = _LABEL[data[self.pos]]
        if 0 <= index < len(objects) and type(objects[index]) is Class:
            obj.cls = objects[index]
            self.pos += 1
        else:
            obj.cls = self.read_class()
        self._depth += 1
        groups = obj.groups
        while data[self.pos] != END:  # IndexError past the end: see read_all
            self._read_group(groups)
        self.pos += 1
        self._depth -= 1
        obj.complete = True
        return obj


# Table index of a one-byte label, or -1 for the tag bytes 0x80..0x91.
_LABEL = tuple(-1 if 0x80 <= tag < 0x92 else (tag - 0x92) & 0xFF for tag in range(256))
_TYPE_CACHE: dict[bytes, tuple[str, tuple[TypeSpec, ...]]] = {}


def foundation_value(value: Any, depth: int = 0, budget: list[int] | None = None,
                     _path: set[int] | None = None) -> Any:
    """Basic Foundation objects as Python values: NSString -> str, NSNumber -> int/float,
    NSDictionary -> dict, NSArray -> list, NSURL -> str, NSData -> bytes; others stay `Object`s.

    Bounded for any graph: nesting past 20 levels is left as it is; an object that contains itself (a
    cycle) raises TypedStreamError; `budget` ([count], shared by the caller across calls if it
    wants one limit for a whole blob) counts every value looked at, and TypedStreamError is raised
    when it runs out (MAX_VISITS by default), so shared sub-graphs cannot make the work exponential.
    """
    if type(value) is not Object or depth > 20:
        return value
    if budget is None:
        budget = [MAX_VISITS]
    budget[0] -= 1
    if budget[0] < 0:
        raise TypedStreamError(f"Foundation values refer to too many others (over the visit budget: MAX_VISITS = "
                               f"{MAX_VISITS}, + {VISITS_PER_DICTIONARY} per attribute dictionary)", 0)
    path = _path if _path is not None else set()
    if id(value) in path:
        raise TypedStreamError(f"{value.class_name} contains itself", 0)
    cls = value.cls
    names = cls.chain() if cls is not None else ()
    if "NSString" in names:
        for group in value.groups:
            if group.types == "+" and group.values:
                return bytes(group.values[0]).decode("utf-8", "replace")
        return None
    if "NSNumber" in names:
        values = value.values()
        return values[1] if len(values) >= 2 else None
    path.add(id(value))
    try:
        if "NSDictionary" in names:
            items = value.values()
            return {
                _hashable(foundation_value(items[k], depth + 1, budget, path)):
                    foundation_value(items[k + 1], depth + 1, budget, path)
                for k in range(1, len(items) - 1, 2)
            }
        if "NSArray" in names:
            return [foundation_value(item, depth + 1, budget, path) for item in value.values()[1:]]
        if "NSURL" in names:
            values = value.values()
            return foundation_value(values[-1], depth + 1, budget, path) if values else None
    finally:
        path.discard(id(value))
    if "NSData" in names:
        values = value.values()
        return bytes(values[1]) if len(values) >= 2 and isinstance(values[1], bytes) else None
    return value


def _hashable(key: Any) -> Any:
    """A dict key: the value itself, or a short stand-in for an unhashable one (never its repr, which
    walks the whole graph)."""
    try:
        hash(key)
    except TypeError:
        return f"<{type(key).__name__} key>"
    return key


def read_typedstream(data: bytes) -> list[TypedGroup]:
    """The top-level typed groups of a typedstream; raises TypedStreamError."""
    return TypedStreamReader(data).read_all()

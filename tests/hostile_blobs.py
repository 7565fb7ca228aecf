"""attributedBody blobs whose string is intact but whose attribute dictionary is hostile (issue 17)."""

from __future__ import annotations

import plistlib
from collections.abc import Callable

from backend.source.attributed_body import PART_KEY
from backend.source.typedstream import TypedStreamWriter
from backend.source.typedstream.writer import DICTIONARY_CLASS, MUTABLE_ATTRIBUTED_STRING_CLASS, ClassChain

ARRAY_CLASS: ClassChain = (("NSArray", 0), ("NSObject", 0))


def body_with_dictionary(write_value: Callable[[TypedStreamWriter], None], text: str = "hello there") -> bytes:
    """An attributedBody whose one attribute dictionary holds PART_KEY -> whatever `write_value` writes
    (it may refer to the dictionary itself by the key "dict")."""
    w = TypedStreamWriter()
    w.begin_group("@")
    w.begin_object(MUTABLE_ATTRIBUTED_STRING_CLASS)
    w.begin_group("@")
    w.write_string_object(text, mutable=True)
    w.begin_group("iI")
    w.write_int(1)
    w.write_int(len(text))
    w.begin_group("@")
    w.begin_object(DICTIONARY_CLASS, key="dict")
    w.begin_group("i")
    w.write_int(2)
    w.begin_group("@")
    w.write_string_object(PART_KEY)
    w.begin_group("@")
    write_value(w)
    w.begin_group("@")
    w.write_string_object("other")
    w.begin_group("@")
    write_value(w)
    w.end_object()
    w.end_object()
    return w.getvalue()


def self_referencing_body(text: str = "hello there") -> bytes:
    """The issue's case: a dictionary whose part value is the dictionary itself."""
    return body_with_dictionary(lambda w: w.write_reference("dict"), text)


def over_visit_limit_body(text: str = "hello there", levels: int = 16) -> bytes:
    """Arrays nested `levels` deep, each holding the one below it twice: 2^levels values to convert from
    a blob of a few hundred bytes."""
    def nested(w: TypedStreamWriter, level: int = levels) -> None:
        w.begin_object(ARRAY_CLASS, key=("array", level))
        w.begin_group("i")
        w.write_int(2 if level else 0)
        if level:
            w.begin_group("@")
            nested(w, level - 1)
            w.begin_group("@")
            w.write_reference(("array", level - 1))
        w.end_object()
    return body_with_dictionary(nested, text)


def shared_keyed_archive(text: str = "hello there", levels: int = 18) -> bytes:
    """An NSKeyedArchiver body whose attributes are arrays nested `levels` deep, each listing the one below it
    twice (by UID): 2^levels references to follow from an archive of a few hundred bytes."""
    objects: list[object] = ["$null", {"NSString": plistlib.UID(2), "NSAttributes": plistlib.UID(3)}, text]
    for level in range(levels):
        below = plistlib.UID(3 + level + 1)
        objects.append({"NS.objects": [below, below]})
    objects.append("leaf")
    return plistlib.dumps({"$archiver": "NSKeyedArchiver", "$version": 100000, "$top": {"root": plistlib.UID(1)},
                           "$objects": objects}, fmt=plistlib.FMT_BINARY)

from __future__ import annotations

import struct

import pytest

from backend.source.typedstream import (
    Class,
    Object,
    TruncatedBytes,
    TypedStreamError,
    TypedStreamReader,
    TypedStreamWriter,
    encode_int,
    foundation_value,
    read_typedstream,
)
from backend.source.typedstream.reader import parse_type_string

HEADER = b"\x04\x0bstreamtyped\x81\xe8\x03"


def _typedstream(testdata_dir, name: str) -> bytes:
    return (testdata_dir / "imessage-exporter" / "typedstream" / name).read_bytes()


def _stream_of(*groups: tuple[str, list]) -> bytes:
    """A stream of top-level groups of plain values (ints, '+' bytes)."""
    writer = TypedStreamWriter()
    for types, values in groups:
        writer.begin_group(types)
        for spec, value in zip(types, values, strict=False):
            if spec == "+":
                writer.write_unshared_bytes(value)
            elif spec == "d":
                writer.write_double(value)
            else:
                writer.write_int(value)
    return writer.getvalue()


def test_reads_header_classes_and_string_of_a_real_blob(testdata_dir):
    reader = TypedStreamReader(_typedstream(testdata_dir, "AttributedBodyTextOnly"))
    groups = reader.read_all()

    assert reader.system_version == 1000
    assert [g.types for g in groups] == ["@"]
    root = groups[0].values[0]
    assert isinstance(root, Object) and root.complete
    assert root.cls.chain() == ("NSMutableAttributedString", "NSAttributedString", "NSObject")
    assert [g.types for g in root.groups] == ["@", "iI", "@"]
    string = root.groups[0].values[0]
    assert string.cls.chain() == ("NSMutableString", "NSString", "NSObject")
    assert string.groups[0].types == "+" and string.groups[0].values == [b"Noter test"]
    assert root.groups[1].values == [1, 10]
    # Shared strings: type strings and class names, each once, in order of first appearance.
    assert reader.strings[:7] == [
        b"@", b"NSMutableAttributedString", b"NSAttributedString", b"NSObject",
        b"NSMutableString", b"NSString", b"+",
    ]


def test_c_strings_take_object_labels(testdata_dir):
    # In "Attachment" the NSNumber type C strings ("d", "q") are referred to later by object
    # labels 0xa1 and 0xa4: they sit in the object table with objects and classes.
    reader = TypedStreamReader(_typedstream(testdata_dir, "Attachment"))
    root = reader.read_all()[0].values[0]
    attributes = foundation_value(root.groups[2].values[0])
    assert attributes["__kIMInlineMediaHeightAttributeName"] == 1139.0
    assert attributes["__kIMInlineMediaWidthAttributeName"] == 952.0
    assert attributes["__kIMBaseWritingDirectionAttributeName"] == -1
    second = foundation_value(root.groups[4].values[0])
    assert second == {
        "__kIMBaseWritingDirectionAttributeName": -1,
        "__kIMMessagePartAttributeName": 1,
    }
    assert b"d" in reader.objects and b"q" in reader.objects


def test_foundation_values_of_url_and_data(testdata_dir):
    root = read_typedstream(_typedstream(testdata_dir, "URL"))[0].values[0]
    attributes = foundation_value(root.groups[2].values[0])
    assert attributes["__kIMLinkAttributeName"] == "https://github.com/ReagentX/Logria"
    data = attributes["__kIMDataDetectedAttributeName"]
    assert isinstance(data, bytes) and data.startswith(b"bplist00") and len(data) == 582


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (127, b"\x7f"),
        (-1, b"\xff"),
        (-110, b"\x92"),
        (-111, b"\x81\x91\xff"),
        (128, b"\x81\x80\x00"),
        (157, b"\x81\x9d\x00"),
        (1000, b"\x81\xe8\x03"),
        (-32768, b"\x81\x00\x80"),
        (32768, b"\x82\x00\x80\x00\x00"),
        (-(2**31), b"\x82\x00\x00\x00\x80"),
    ],
)
def test_integer_encoding(value, encoded):
    assert encode_int(value) == encoded
    reader = TypedStreamReader(encoded)
    assert reader.read_int() == value


def test_integer_too_wide_is_refused():
    assert encode_int(2**31)[0] == 0x87  # 64 bits since the 0x87 tag
    with pytest.raises(ValueError, match="64 bits"):
        encode_int(2**63)


def test_unsigned_integers_read_high_bytes_as_unsigned():
    assert TypedStreamReader(b"\xc8").read_int(unsigned=True) == 200
    assert TypedStreamReader(b"\xc8").read_int() == -56
    assert TypedStreamReader(b"\x81\x00\x90").read_int(unsigned=True) == 0x9000


def test_reals_are_integers_when_integral_else_tagged_doubles():
    blob = _stream_of(("d", [2.0]), ("d", [0.25]))
    assert blob[len(HEADER) :] == b"\x84\x01d\x02" + b"\x92\x83" + struct.pack("<d", 0.25)
    groups = read_typedstream(blob)
    assert [g.values for g in groups] == [[2.0], [0.25]]


def test_labels_beyond_one_byte_round_trip():
    # 300 distinct type strings, each written twice: labels past 0x7f wrap round to 0x00..0x7f,
    # then (past table entry 237) need 0x81 + int16.
    names = [f"[{n}c]" for n in range(1, 301)]
    writer = TypedStreamWriter()
    for name in names + names:
        writer.begin_group(name)
        writer.write_char_array(b"y" * int(name[1:-2]))
    blob = writer.getvalue()
    assert b"\x81" + (299 - 110).to_bytes(2, "little") in blob  # the label of entry 299
    groups = read_typedstream(blob)
    assert [g.types for g in groups] == names + names
    assert groups[-1].values == [b"y" * 300]


def test_type_strings_parse_arrays_and_structs():
    assert parse_type_string("iI") == ("i", "I")
    assert parse_type_string("[535c]") == (("[", 535, "c"),)
    assert parse_type_string("{_NSRange=QQ}@") == (("{", "_NSRange", ("Q", "Q")), "@")
    with pytest.raises(ValueError):
        parse_type_string("[12")


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "unexpected end"),
        (b"\x03\x0bstreamtyped\x81\xe8\x03", "version 3"),
        (b"\x04\x0bstreamtypee\x81\xe8\x03", "signature"),
        (HEADER + b"\x84\x01@\x84", "unexpected end"),
        (HEADER + b"\x99", "string reference 7 out of range"),
        (HEADER + b"\x84\x01!", "bad type string"),
        (HEADER + b"\x84\x01@\x84\x84\x84\x08NSString\x01\x85\x84\x01i\x01", "unexpected end"),
    ],
)
def test_malformed_streams_raise_typedstream_error(blob, message):
    with pytest.raises(TypedStreamError, match=message):
        read_typedstream(blob)


def test_truncated_string_keeps_what_was_there():
    blob = HEADER + b"\x84\x01+\x0aNoter"
    reader = TypedStreamReader(blob)
    with pytest.raises(TypedStreamError, match="10 bytes declared but only 5 remain"):
        reader.read_all()
    value = reader.groups[0].values[0]
    assert isinstance(value, TruncatedBytes) and value == b"Noter" and value.declared_length == 10


def test_partial_objects_stay_reachable_after_an_error(testdata_dir):
    blob = _typedstream(testdata_dir, "AttributedBodyTextOnly")
    reader = TypedStreamReader(blob[:0x90])
    with pytest.raises(TypedStreamError):
        reader.read_all()
    root = reader.groups[0].values[0]
    assert not root.complete
    assert root.groups[0].values[0].groups[0].values == [b"Noter test"]


def test_big_endian_streams_are_read():
    blob = b"\x04\x0btypedstream\x81\x03\xe8" + b"\x84\x01i\x81\x01\x00"
    reader = TypedStreamReader(blob)
    groups = reader.read_all()
    assert reader.system_version == 1000 and groups[0].values == [256]


def test_writer_shares_strings_classes_and_marked_objects():
    writer = TypedStreamWriter()
    writer.begin_group("@")
    writer.write_dictionary_object([("k", 7), ("k2", 7)])
    groups = read_typedstream(writer.getvalue())
    dictionary = groups[0].values[0]
    assert isinstance(dictionary.cls, Class) and dictionary.cls.name == "NSDictionary"
    values = dictionary.values()
    assert values[2] is values[4]  # the second NSNumber 7 is a reference to the first
    assert foundation_value(dictionary) == {"k": 7, "k2": 7}

"""The decoders never raise: arbitrary bytes, truncated and bit-flipped real blobs."""

from __future__ import annotations

import plistlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.source.attributed_body import (
    DecodedBody,
    decode_attributed_body,
    decode_body_text,
    encode_attributed_body,
    fast_body_text,
)
from backend.source.summary_info import SummaryInfo, decode_summary_info, encode_summary_info

TYPEDSTREAM_CASES = [
    "Attachment", "AttributedBodyTextOnly", "AttributedBodyTextOnly2", "Blank", "Code",
    "EmojiBoldUnderline", "ExtraData", "LongMessage", "Mention", "MultiPart", "TextStyles",
    "Transcription", "URL",
]
PLIST_CASES = ["Deleted.plist", "Edited.plist", "EditedAndUnsent.plist"]
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def real_blobs(testdata_dir):
    folder = testdata_dir / "imessage-exporter" / "typedstream"
    return [(folder / name).read_bytes() for name in TYPEDSTREAM_CASES]


@pytest.fixture(scope="module")
def real_plists(testdata_dir):
    folder = testdata_dir / "imessage-exporter" / "edited_message"
    return [(folder / name).read_bytes() for name in PLIST_CASES]


def _check_body(blob: bytes) -> DecodedBody:
    body = decode_attributed_body(blob)
    assert isinstance(body, DecodedBody)
    assert body.text is None or isinstance(body.text, str)
    if body.text is None:
        assert body.errors, "nothing decoded but no error reported"
    # the fast path and the full decoder agree on every blob; what the fast path reads alone decodes cleanly
    assert decode_body_text(blob) == body.text
    fast = fast_body_text(blob)
    assert fast is None or (fast == body.text and not body.errors)
    body.to_json()
    return body


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes(blob):
    _check_body(blob)


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes_after_a_valid_header(tail):
    _check_body(b"\x04\x0bstreamtyped\x81\xe8\x03" + tail)


def test_every_truncation_of_every_real_blob(real_blobs):
    for blob in real_blobs:
        for end in range(len(blob)):
            body = _check_body(blob[:end])
            assert body.errors, f"truncated at {end} of {len(blob)} but no error"


@FUZZ
@given(st.data())
def test_byte_flips_of_real_blobs(real_blobs, data):
    blob = bytearray(data.draw(st.sampled_from(real_blobs)))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(blob) - 1))
        blob[position] = data.draw(st.integers(0, 255))
    _check_body(bytes(blob))


@FUZZ
@given(st.data())
def test_byte_insertions_and_deletions_of_encoder_output(data):
    text = data.draw(st.text(max_size=40))
    blob = bytearray(encode_attributed_body(text))
    position = data.draw(st.integers(0, len(blob) - 1))
    if data.draw(st.booleans()):
        del blob[position]
    else:
        blob.insert(position, data.draw(st.integers(0, 255)))
    _check_body(bytes(blob))


def test_deep_nesting_is_an_error_not_a_crash():
    header = b"\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@"
    root = b"\x84\x84\x84\x08NSObject\x00\x85"  # NEW object, NEW class NSObject v0, no superclass
    blob = header + root + b"\x92\x84\x93" * 5000  # "@" NEW object of class NSObject, 5000 deep
    body = _check_body(blob)
    assert body.text is None and any("deep" in e for e in body.errors)


@pytest.mark.parametrize("blob", [b"\x00", "not bytes", 12, bytearray(b"\x04\x0b")])
def test_odd_inputs(blob):
    body = decode_attributed_body(blob)
    assert body.text is None and body.errors
    assert decode_body_text(blob) is None


def _check_summary(blob: bytes) -> SummaryInfo:
    info = decode_summary_info(blob)
    assert isinstance(info, SummaryInfo)
    info.to_json()
    return info


@FUZZ
@given(st.binary(max_size=300))
def test_summary_arbitrary_bytes(blob):
    info = _check_summary(blob)
    assert info.errors


@FUZZ
@given(st.data())
def test_summary_byte_flips_of_real_plists(real_plists, data):
    blob = bytearray(data.draw(st.sampled_from(real_plists)))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(blob) - 1))
        blob[position] = data.draw(st.integers(0, 255))
    _check_summary(bytes(blob))


def test_summary_truncations(real_plists):
    for blob in real_plists:
        for end in range(0, len(blob), 3):
            assert _check_summary(blob[:end]).errors


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5) | st.binary(max_size=8),
        lambda children: st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["ec", "rp", "otr", "0", "1", "t", "d"]), children, max_size=3),
        max_leaves=10,
    )
)
def test_summary_well_formed_plists_of_any_shape(value):
    try:
        blob = plistlib.dumps({"ec": value, "rp": value, "otr": value}, fmt=plistlib.FMT_BINARY)
    except (TypeError, OverflowError):
        return
    _check_summary(blob)


def test_summary_of_encoder_output_with_garbage_version_blobs():
    blob = plistlib.loads(encode_summary_info(edits={0: [("hi", 1.0)]}))
    blob["ec"]["0"][0]["t"] = b"\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@\x84"
    info = decode_summary_info(plistlib.dumps(blob, fmt=plistlib.FMT_BINARY))
    assert info.edited_parts[0][0].text is None
    assert info.errors and info.errors[0].startswith("edit of part 0: typedstream:")

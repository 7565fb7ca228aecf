from __future__ import annotations

import json
import plistlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.source.attributed_body import (
    AttachmentRef,
    BodyPart,
    DecodedBody,
    decode_attributed_body,
    decode_body_text,
    encode_attributed_body,
    encode_body,
)

CASES = [
    "Attachment", "AttributedBodyTextOnly", "AttributedBodyTextOnly2", "Blank", "Code",
    "EmojiBoldUnderline", "ExtraData", "LongMessage", "Mention", "MultiPart", "TextStyles",
    "Transcription", "URL",
]


@pytest.fixture(scope="module")
def typedstream_dir(testdata_dir):
    return testdata_dir / "imessage-exporter" / "typedstream"


@pytest.fixture(scope="module")
def expected(typedstream_dir):
    return json.loads((typedstream_dir / "expected.json").read_text())


def test_every_captured_case_is_covered(expected):
    assert sorted(expected) == sorted(CASES)


@pytest.mark.parametrize("name", CASES)
def test_real_blob_decodes_as_expected(name, typedstream_dir, expected):
    want = expected[name]
    body = decode_attributed_body((typedstream_dir / name).read_bytes())

    if "text" in want:
        assert body.text == want["text"]
        assert body.errors == ()
    else:
        assert body.text.startswith(want["text_startswith"])
    if "object_replacement_chars" in want:
        assert body.text.count("\ufffc") == want["object_replacement_chars"]
    got_attachments = [{"guid": a.guid, "filename": a.filename} for a in body.attachments]
    want_attachments = [
        {"guid": a["guid"], "filename": a.get("filename")} for a in want.get("attachments", [])
    ]
    assert got_attachments == want_attachments
    assert list(body.mentions) == want.get("mentions", [])
    assert list(body.links) == want.get("links", [])
    assert body.one_time_code == want.get("one_time_code")
    assert body.audio_transcription == want.get("audio_transcription")
    assert decode_body_text((typedstream_dir / name).read_bytes()) == body.text


def test_truncated_string_is_recovered_and_reported(typedstream_dir):
    # "ExtraData" declares a 157-byte string but holds 120 bytes: keep its valid UTF-8 prefix.
    body = decode_attributed_body((typedstream_dir / "ExtraData").read_bytes())
    assert body.text == "This is parsing  "
    assert body.errors == ("typedstream: 157 bytes declared but only 120 remain at byte 244",)


def test_parts_of_a_multipart_message(typedstream_dir):
    body = decode_attributed_body((typedstream_dir / "MultiPart").read_bytes())
    guid = "F0668F79-20C2-49C9-A87F-1B007ABB0CED"
    assert body.parts == (
        BodyPart(0, "\ufffc", "attachment", f"at_0_{guid}"),
        BodyPart(1, "test 1", "text"),
        BodyPart(2, "\ufffc", "attachment", f"at_2_{guid}"),
        BodyPart(3, "test 2 ", "text"),
        BodyPart(4, "\ufffc", "attachment", f"at_4_{guid}"),
        BodyPart(5, "test 3", "text"),
    )
    assert [a.part for a in body.attachments] == [0, 2, 4]


def test_attachment_filename_and_part(typedstream_dir):
    body = decode_attributed_body((typedstream_dir / "Attachment").read_bytes())
    assert body.attachments == (
        AttachmentRef(
            "at_0_2E5F12C3-E649-48AA-954D-3EA67C016BCC", "Messages Image(785748029).png", 0
        ),
    )
    assert [(p.index, p.kind) for p in body.parts] == [(0, "attachment"), (1, "text")]


def test_runs_count_utf16_units_and_merge_into_one_part(typedstream_dir):
    # Four runs (emoji = 3 UTF-16 units, "Bold", "_", "Underline") all in part 0.
    body = decode_attributed_body((typedstream_dir / "EmojiBoldUnderline").read_bytes())
    assert body.parts == (BodyPart(0, "🅱️Bold_Underline", "text"),)


def test_blank_body_is_an_empty_string(typedstream_dir):
    body = decode_attributed_body((typedstream_dir / "Blank").read_bytes())
    assert body == DecodedBody("", (), (), (), (), None, None, ())


def test_to_json_has_exactly_the_agreed_keys(typedstream_dir):
    data = decode_attributed_body((typedstream_dir / "Attachment").read_bytes()).to_json()
    assert list(data) == [
        "text", "parts", "attachments", "mentions", "links", "one_time_code",
        "audio_transcription", "errors",
    ]
    assert data["attachments"] == [
        {
            "guid": "at_0_2E5F12C3-E649-48AA-954D-3EA67C016BCC",
            "filename": "Messages Image(785748029).png",
            "part": 0,
        }
    ]
    assert json.loads(json.dumps(data)) == data


@pytest.mark.parametrize(
    ("name", "text"), [("AttributedBodyTextOnly", "Noter test")]
)
def test_encoder_writes_text_only_blobs_byte_for_byte(name, text, typedstream_dir):
    assert encode_attributed_body(text) == (typedstream_dir / name).read_bytes()


def test_immutable_encoding_matches_an_edit_history_version(testdata_dir):
    plist = (testdata_dir / "imessage-exporter" / "edited_message" / "Edited.plist").read_bytes()
    first = plistlib.loads(plist)["ec"]["0"][0]["t"]
    assert encode_body("First message  ", mutable=False) == first


def test_none_and_empty_blobs():
    assert decode_attributed_body(None) == DecodedBody(None, (), (), (), (), None, None, ())
    assert decode_body_text(None) is None
    empty = decode_attributed_body(b"")
    assert empty.text is None and empty.errors == ("attributedBody is empty",)


def test_attachments_mentions_and_links_round_trip():
    text = "\ufffcHi @Dad see https://x.example 🎉\ufffc"
    refs = [AttachmentRef("at_0_G", "a.png", None), AttachmentRef("at_2_G", None, None)]
    blob = encode_attributed_body(
        text,
        attachments=refs,
        mentions=[(4, 4, "+15551234567")],
        links=[(13, 17, "https://x.example")],
    )
    body = decode_attributed_body(blob)
    assert body.text == text and body.errors == ()
    assert body.attachments == (
        AttachmentRef("at_0_G", "a.png", 0),
        AttachmentRef("at_2_G", None, 2),
    )
    assert body.mentions == ("+15551234567",)
    assert body.links == ("https://x.example",)
    assert [(p.index, p.text, p.kind) for p in body.parts] == [
        (0, "\ufffc", "attachment"),
        (1, "Hi @Dad see https://x.example 🎉", "text"),
        (2, "\ufffc", "attachment"),
    ]
    assert decode_body_text(blob) == text


def test_explicit_parts_are_start_length_index():
    blob = encode_attributed_body("ab🎉cd", parts=[(0, 2, 0), (2, 4, 3)])
    body = decode_attributed_body(blob)
    assert [(p.index, p.text) for p in body.parts] == [(0, "ab"), (3, "🎉cd")]


def test_attachment_part_numbers_are_kept():
    blob = encode_attributed_body(
        "x\ufffc", attachments=[AttachmentRef("at_5_G", None, 5)]
    )
    body = decode_attributed_body(blob)
    assert [(p.index, p.kind) for p in body.parts] == [(0, "text"), (5, "attachment")]


def test_encoder_refuses_bad_ranges_and_missing_placeholders():
    with pytest.raises(ValueError, match="outside the text"):
        encode_attributed_body("abc", mentions=[(2, 5, "x")])
    with pytest.raises(ValueError, match="U\\+FFFC"):
        encode_attributed_body("abc", attachments=[AttachmentRef("g", None, None)])


@settings(max_examples=150, deadline=None)
@given(st.text())
def test_any_text_round_trips(text):
    blob = encode_attributed_body(text)
    body = decode_attributed_body(blob)
    assert body.text == text
    assert body.errors == ()
    assert decode_body_text(blob) == text
    assert "".join(p.text for p in body.parts) == text


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1), st.data())
def test_mentions_round_trip_over_astral_text(text, data):
    units = len(text.encode("utf-16-le")) // 2
    # a range on character boundaries, expressed in UTF-16 units
    start_char = data.draw(st.integers(0, len(text) - 1))
    end_char = data.draw(st.integers(start_char + 1, len(text)))
    start = len(text[:start_char].encode("utf-16-le")) // 2
    length = len(text[start_char:end_char].encode("utf-16-le")) // 2
    assert start + length <= units
    body = decode_attributed_body(
        encode_attributed_body(text, mentions=[(start, length, "handle@example.com")])
    )
    assert body.text == text and body.errors == ()
    assert body.mentions == ("handle@example.com",)

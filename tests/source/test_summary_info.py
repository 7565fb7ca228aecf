from __future__ import annotations

import json
import plistlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.source.summary_info import (
    EditVersion,
    SummaryInfo,
    decode_summary_info,
    encode_summary_info,
)


@pytest.fixture(scope="module")
def edited_dir(testdata_dir):
    return testdata_dir / "imessage-exporter" / "edited_message"


@pytest.fixture(scope="module")
def expected(edited_dir):
    return json.loads((edited_dir / "expected.json").read_text())


@pytest.mark.parametrize("name", ["Deleted.plist", "Edited.plist", "EditedAndUnsent.plist"])
def test_real_plist_decodes_as_expected(name, edited_dir, expected):
    want = expected[name]
    info = decode_summary_info((edited_dir / name).read_bytes())

    assert info.errors == ()
    assert sorted(info.edited_parts) == want.get("edited_parts", [])
    for part in info.edited_parts:
        texts = [v.text for v in info.edited_parts[part]]
        assert texts == want[f"versions_part_{part}"]
    assert list(info.retracted_parts) == want.get("retracted_parts", [])
    assert info.fully_unsent == want.get("fully_unsent", False)


def test_edit_times_are_float_seconds_oldest_first(edited_dir, expected):
    info = decode_summary_info((edited_dir / "Edited.plist").read_bytes())
    times = [v.edited_at_apple_seconds for v in info.edited_parts[0]]
    assert times[0] == expected["Edited.plist"]["first_version_time_apple_seconds"]
    assert times == sorted(times) and all(isinstance(t, float) for t in times)


def test_part_count_decides_fully_unsent(edited_dir):
    blob = (edited_dir / "Deleted.plist").read_bytes()
    assert decode_summary_info(blob, part_count=1).fully_unsent is True
    assert decode_summary_info(blob, part_count=2).fully_unsent is False
    blob = (edited_dir / "EditedAndUnsent.plist").read_bytes()
    assert decode_summary_info(blob, part_count=4).fully_unsent is False


def test_to_json(edited_dir):
    info = decode_summary_info((edited_dir / "EditedAndUnsent.plist").read_bytes())
    assert info.to_json() == {
        "edited_parts": {
            "2": [
                {"text": "Second test", "edited_at_apple_seconds": 743907435.319, "guid": None},
                {
                    "text": "Second test was edited!",
                    "edited_at_apple_seconds": 743907448.889677,
                    "guid": None,
                },
            ]
        },
        "retracted_parts": [3],
        "fully_unsent": False,
        "errors": [],
    }


def test_encoder_writes_the_structure_messages_writes(edited_dir):
    ours = plistlib.loads(
        encode_summary_info(edits={0: [("First message  ", 690513474.2725511)]})
    )
    real = plistlib.loads((edited_dir / "Edited.plist").read_bytes())
    assert set(ours) == set(real)
    assert ours["ec"]["0"][0] == real["ec"]["0"][0]  # same typedstream bytes and time
    assert ours["ep"] == [0] and ours["otr"] == {"0": {"lo": 0, "le": 15}}

    unsent = plistlib.loads(encode_summary_info(retracted_parts=[0], part_ranges={0: (0, 13)}))
    assert unsent == plistlib.loads((edited_dir / "Deleted.plist").read_bytes())


def test_none_empty_and_garbage():
    assert decode_summary_info(None) == SummaryInfo({}, (), False, ())
    assert decode_summary_info(b"").errors == ("message_summary_info is empty",)
    assert decode_summary_info(b"bplist00garbage").errors[0].startswith("not a property list")
    listed = decode_summary_info(plistlib.dumps([1, 2], fmt=plistlib.FMT_BINARY))
    assert listed.errors == ("property list root is list, not a dict",)


def test_malformed_entries_are_reported_not_dropped():
    blob = plistlib.dumps(
        {"ec": {"x": [], "1": [{"d": "soon", "t": b"nope"}, 5]}, "rp": ["a", 2]},
        fmt=plistlib.FMT_BINARY,
    )
    info = decode_summary_info(blob)
    assert info.edited_parts == {
        1: (EditVersion(None, None, None), EditVersion(None, None, None))
    }
    assert info.retracted_parts == (2,)
    assert len(info.errors) == 5
    assert any("'ec' has a part that is not a number" in e for e in info.errors)
    assert any("non-numeric time" in e for e in info.errors)


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.integers(0, 5),
        st.lists(
            st.tuples(st.text(max_size=30), st.floats(0, 2e9, allow_nan=False)),
            min_size=1,
            max_size=4,
        ),
        max_size=3,
    ),
    st.lists(st.integers(0, 5), max_size=3),
)
def test_round_trip(edits, retracted):
    info = decode_summary_info(encode_summary_info(edits=edits, retracted_parts=retracted))
    assert info.errors == ()
    assert {
        part: [(v.text, v.edited_at_apple_seconds) for v in versions]
        for part, versions in info.edited_parts.items()
    } == {part: [(t, float(d)) for t, d in versions] for part, versions in edits.items()}
    assert info.retracted_parts == tuple(sorted(set(retracted)))
    all_parts = set(range(max([*edits, *retracted], default=-1) + 1))
    assert info.fully_unsent == (bool(retracted) and all_parts <= set(retracted))

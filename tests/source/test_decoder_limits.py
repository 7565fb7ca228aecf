"""64-bit integers, keyed-archive bodies, and the limits that bound the decoders' work for any blob
(source/DECODERS.md)."""

from __future__ import annotations

import plistlib
import random
import time

import pytest

from backend.source import keyed_archive
from backend.source.attributed_body import (
    PART_KEY,
    AttachmentRef,
    decode_attributed_body,
    decode_body_text,
    encode_attributed_body,
    encode_body,
    fast_body_text,
)
from backend.source.keyed_archive import encode_keyed_string
from backend.source.summary_info import (
    MAX_FULL_DECODE_BYTES,
    MAX_PART,
    MAX_SUMMARY_BYTES,
    decode_summary_info,
    encode_summary_info,
)
from backend.source.typedstream import Object, TypedStreamError, TypedStreamReader, TypedStreamWriter
from backend.source.typedstream.reader import MAX_OBJECTS, MAX_STREAM_BYTES, MAX_VISITS, foundation_value
from backend.source.typedstream.writer import DICTIONARY_CLASS, encode_int
from tests.hostile_blobs import (
    body_with_dictionary,
    over_visit_limit_body,
    self_referencing_body,
    shared_keyed_archive,
)

FAST_S = 0.05  # "a few milliseconds", with room for a loaded CI machine


def _timed(call, *args, **kwargs):
    started = time.perf_counter()
    result = call(*args, **kwargs)
    return result, time.perf_counter() - started


# --- 64-bit integers ---------------------------------------------------------------------------

@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 2**62 + 12345, -(2**63), 2**63 - 1])
def test_64_bit_integers_round_trip(value):
    encoded = encode_int(value)
    assert encoded[0] == 0x87 and len(encoded) == 9
    w = TypedStreamWriter()
    w.begin_group("q")
    w.write_int(value)
    groups = TypedStreamReader(w.getvalue()).read_all()
    assert groups[0].values == [value]


def test_a_64_bit_part_number_in_a_body_is_read():
    def number(w: TypedStreamWriter) -> None:
        w.write_number_object(2**40)
    body = decode_attributed_body(body_with_dictionary(number))
    assert body.text == "hello there"


# --- keyed archives --------------------------------------------------------------------------

def test_a_keyed_archive_body_is_decoded():
    text = "keyed 🙂 archive"
    units = len(text.encode("utf-16-le", "surrogatepass")) // 2
    blob = encode_keyed_string(text, [(6, {PART_KEY: 0}), (units - 6, {PART_KEY: 1})])
    assert blob.startswith(b"bplist00")
    body = decode_attributed_body(blob)
    assert body.text == text and not body.errors
    assert [(p.index, p.text) for p in body.parts] == [(0, "keyed "), (1, "🙂 archive")]
    assert decode_body_text(blob) == text


def test_a_keyed_archive_that_is_not_a_string_is_flagged():
    blob = plistlib.dumps({"$archiver": "NSKeyedArchiver", "$top": {"root": plistlib.UID(1)},
                           "$objects": ["$null", [1, 2]]}, fmt=plistlib.FMT_BINARY)
    body = decode_attributed_body(blob)
    assert body.text is None and body.errors and "keyed archive" in body.errors[0]


def test_a_keyed_archive_whose_references_loop_is_bounded():
    blob = plistlib.dumps({"$archiver": "NSKeyedArchiver", "$top": {"root": plistlib.UID(1)},
                           "$objects": ["$null", plistlib.UID(2), plistlib.UID(1)]}, fmt=plistlib.FMT_BINARY)
    body, seconds = _timed(decode_attributed_body, blob)
    assert body.text is None and "reference" in body.errors[0] and seconds < FAST_S


def test_a_keyed_archive_over_the_object_limit_is_refused():
    objects = ["$null", *["x"] * (keyed_archive.MAX_ARCHIVE_OBJECTS + 1)]
    blob = plistlib.dumps({"$archiver": "NSKeyedArchiver", "$top": {"root": plistlib.UID(1)}, "$objects": objects},
                          fmt=plistlib.FMT_BINARY)
    body = decode_attributed_body(blob)
    assert body.text is None and "objects" in body.errors[0]


# --- typedstream limits --------------------------------------------------------------------------

def test_a_dictionary_that_contains_itself_is_flagged_in_milliseconds():
    blob = self_referencing_body()
    assert len(blob) < 256  # the case was 169 bytes
    body, seconds = _timed(decode_attributed_body, blob)
    assert seconds < FAST_S
    assert body.text is None and any("contains itself" in e for e in body.errors)
    # the string is intact, but the fast path does not recognise the attributes: it agrees (NULL text)
    assert fast_body_text(blob) is None
    text, seconds = _timed(decode_body_text, blob)
    assert text is None and seconds < FAST_S


def test_a_dictionary_over_the_visit_limit_is_flagged_by_both_paths():
    blob = over_visit_limit_body()
    assert len(blob) < 512 and MAX_VISITS < 2**16
    body, seconds = _timed(decode_attributed_body, blob)
    assert body.text is None and any(str(MAX_VISITS) in e for e in body.errors) and seconds < FAST_S
    assert fast_body_text(blob) is None and decode_body_text(blob) is None


def test_the_fast_path_reads_what_messages_writes_for_a_one_part_message(testdata_dir):
    folder = testdata_dir / "imessage-exporter" / "typedstream"
    for name in ("AttributedBodyTextOnly", "LongMessage", "Blank"):
        blob = (folder / name).read_bytes()
        body = decode_attributed_body(blob)
        assert fast_body_text(blob) == body.text and not body.errors


def test_shared_values_cannot_make_the_work_exponential():
    """A chain of 40 dictionaries each holding the previous one twice: 2^40 visits without the budget."""
    inner: object = "leaf"
    for _ in range(40):
        node = Object(None)
        node.cls = _dictionary_class()
        from backend.source.typedstream import TypedGroup
        node.groups = [TypedGroup("i", [2]), TypedGroup("@", ["a"]), TypedGroup("@", [inner]),
                       TypedGroup("@", ["b"]), TypedGroup("@", [inner])]
        inner = node
    started = time.perf_counter()
    with pytest.raises(TypedStreamError, match=str(MAX_VISITS)):
        foundation_value(inner, budget=[MAX_VISITS])
    assert time.perf_counter() - started < 0.5


def _dictionary_class():
    from backend.source.typedstream import Class
    return Class("NSDictionary", 0, Class("NSObject", 0))


def test_nesting_past_the_depth_limit_is_flagged():
    w = TypedStreamWriter()
    for _ in range(150):
        w.begin_group("@")
        w.begin_object(DICTIONARY_CLASS)
    blob = w.getvalue()
    body, seconds = _timed(decode_attributed_body, blob)
    assert body.text is None and "nest" in " ".join(body.errors) and seconds < FAST_S


def test_more_objects_than_the_limit_is_flagged():
    w = TypedStreamWriter()
    w.begin_group("@" * (MAX_OBJECTS + 10))
    for number in range(MAX_OBJECTS + 10):
        w.begin_object(DICTIONARY_CLASS, key=number)
        w.end_object()
    blob = w.getvalue()
    assert len(blob) < MAX_STREAM_BYTES
    body = decode_attributed_body(blob)
    assert body.text is None and any(f"more than {MAX_OBJECTS} objects" in e for e in body.errors)


def test_a_body_over_the_size_limit_is_refused_without_reading():
    body, seconds = _timed(decode_attributed_body, b"\x04\x0bstreamtyped" + b"\x00" * MAX_STREAM_BYTES)
    assert body.text is None and "limit" in body.errors[0] and seconds < FAST_S


# --- summary info -------------------------------------------------------------------------------

@pytest.mark.parametrize("part", [10**7, 10**12, 2**63 - 1])
def test_a_huge_unsent_part_number_costs_nothing(part):
    """The issue's 76-byte plist built a set of 10^7 numbers (605 MB, 1.5 s)."""
    blob = plistlib.dumps({"amc": 0, "ust": True, "rp": [part], "otr": {}}, fmt=plistlib.FMT_BINARY)
    info, seconds = _timed(decode_summary_info, blob)
    assert seconds < FAST_S
    assert info.retracted_parts == () and not info.fully_unsent
    assert any(f"over the limit of {MAX_PART}" in e for e in info.errors)
    info, seconds = _timed(decode_summary_info, plistlib.dumps({"rp": [0]}, fmt=plistlib.FMT_BINARY),
                           part_count=part)
    assert seconds < FAST_S and not info.fully_unsent


def test_unsent_parts_within_the_limit_still_count():
    blob = plistlib.dumps({"rp": [0, 1, 2], "otr": {"0": {}, "1": {}, "2": {}}}, fmt=plistlib.FMT_BINARY)
    assert decode_summary_info(blob).fully_unsent
    assert decode_summary_info(blob, part_count=3).fully_unsent
    assert not decode_summary_info(blob, part_count=4).fully_unsent


def test_a_summary_over_the_size_limit_is_refused():
    blob = plistlib.dumps({"x": b"\x00" * MAX_SUMMARY_BYTES}, fmt=plistlib.FMT_BINARY)
    info = decode_summary_info(blob)
    assert info.errors and "limit" in info.errors[0]


# --- a bounded fuzz run (bench/fuzz.py runs a million) --------------------------------------------

def test_bounded_fuzz_of_real_blobs(testdata_dir):
    from bench.fuzz import fuzz_decoder, load_corpus

    corpus = load_corpus(testdata_dir)
    for name in ("attributed_body", "summary_info", "keyed_archive"):
        report = fuzz_decoder(name, corpus[name], iterations=1500, rng=random.Random(17))
        assert report.calls == 1500
        assert report.unexpected == [], report.unexpected[:3]
        assert report.slow == [], report.slow[:3]


def test_the_visit_budget_grows_with_the_dictionaries_of_a_real_message():
    """A message of 150 attachments (a dictionary each: part, guid, filename) needs far more visits than
    MAX_VISITS; each dictionary brings its own room, so it decodes whole and cleanly."""
    count = 150
    text = "\ufffc" * count
    refs = [AttachmentRef(f"at_{n}_GUID", f"IMG_{n}.HEIC", None) for n in range(count)]
    body = decode_attributed_body(encode_attributed_body(text, attachments=refs))
    assert not body.errors
    assert [a.guid for a in body.attachments] == [r.guid for r in refs]
    assert [a.filename for a in body.attachments] == [r.filename for r in refs]


def test_a_keyed_archive_of_shared_references_is_flagged_in_milliseconds():
    blob = shared_keyed_archive()
    assert len(blob) < 1024
    body, seconds = _timed(decode_attributed_body, blob)
    assert body.text is None and "too many references" in body.errors[0] and seconds < FAST_S
    assert decode_body_text(blob) is None


def test_the_keyed_archive_budget_grows_with_its_attribute_dictionaries():
    count = 150
    text = "\ufffc" * count
    runs = [(1, {PART_KEY: n, "__kIMFileTransferGUIDAttributeName": f"at_{n}_GUID",
                 "__kIMFilenameAttributeName": f"IMG_{n}.HEIC"}) for n in range(count)]
    body = decode_attributed_body(encode_keyed_string(text, runs))
    assert not body.errors and body.text == text
    assert [a.guid for a in body.attachments] == [f"at_{n}_GUID" for n in range(count)]


def test_a_summary_of_many_odd_versions_is_bounded_and_plain_versions_are_all_read():
    odd = encode_body("\ufffc see", attachments=[AttachmentRef("at_0_X", "a.jpg", None)], mutable=False)
    assert fast_body_text(odd) is None  # only the full decoder reads it
    blob = plistlib.dumps({"ec": {"0": [{"t": odd, "d": 7e8 + n} for n in range(1000)]}}, fmt=plistlib.FMT_BINARY)
    info, seconds = _timed(decode_summary_info, blob)
    versions = info.edited_parts[0]
    decoded = sum(v.text == "\ufffc see" for v in versions)
    assert decoded == MAX_FULL_DECODE_BYTES // len(odd) and len(versions) == 1000
    assert sum("budget of full decodes" in e for e in info.errors) == 1
    assert seconds < FAST_S
    plain = encode_summary_info(edits={0: [(f"version {n}", 7e8 + n) for n in range(6)],
                                       1: [(f"other {n}", 7e8 + n) for n in range(6)]})
    info = decode_summary_info(plain)
    assert not info.errors
    assert [v.text for v in info.edited_parts[0]] == [f"version {n}" for n in range(6)]
    assert [v.text for v in info.edited_parts[1]] == [f"other {n}" for n in range(6)]


def test_the_fuzz_bench_splits_its_iterations_over_processes(testdata_dir):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from bench.fuzz import fuzz_in_parallel, load_corpus

    corpus = load_corpus(testdata_dir)
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork")) as pool:
        report, peak_kb = fuzz_in_parallel("attributed_body", corpus["attributed_body"], iterations=301, seed=5,
                                           pool=pool, jobs=2)
    assert report.calls == 301 and report.unexpected == [] and report.slow == []
    assert peak_kb > 0

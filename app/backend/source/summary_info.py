"""`message.message_summary_info`: the binary plist Messages keeps about edits and unsends.

Keys seen in real data:
- "ec": edited content, {part (str): [{"d": edit time, float seconds since 2001-01-01,
  "t": that version's attributedBody typedstream}, ...]}, oldest first;
- "ep": edited parts; "rp": retracted (unsent) parts;
- "otr": original text ranges, {part (str): {"lo": start, "le": length}}: every part the message had;
- "amc", "ust": flags we keep but do not interpret.
A message is fully unsent when every part it had is retracted.

Bounded for any input (see DECODERS.md): at most MAX_SUMMARY_BYTES of plist, part numbers up to
MAX_PART (a larger one is an error and is ignored: no work is ever proportional to a part number),
MAX_VERSIONS edits per part, each version's typedstream under the attributedBody limits; the full decoder
reads at most MAX_FULL_DECODE_BYTES of version bodies per summary (a version laid out as Messages writes a
one-part message costs microseconds and does not count), so a summary of many odd versions stays cheap.
"""

from __future__ import annotations

import plistlib
from dataclasses import dataclass
from typing import Any

from backend.source.attributed_body import decode_attributed_body, encode_body, fast_body_text

MAX_SUMMARY_BYTES = 256 << 10
MAX_PART = 1_000  # Messages splits a message into a handful of parts; 1,000 is far past any real one
MAX_VERSIONS = 1_000
# A full decode costs ~1-2 us a byte (150-300 us a version); Messages allows 5 edits of a message, so real
# summaries need at most a couple of KB of it. 1,000 versions of 24 bytes took ~200 ms before this.
MAX_FULL_DECODE_BYTES = 4 << 10


@dataclass(frozen=True, slots=True)
class EditVersion:
    text: str | None
    edited_at_apple_seconds: float | None
    guid: str | None


@dataclass(frozen=True, slots=True)
class SummaryInfo:
    edited_parts: dict[int, tuple[EditVersion, ...]]  # part index -> versions, oldest first
    retracted_parts: tuple[int, ...]
    fully_unsent: bool
    errors: tuple[str, ...]

    def to_json(self) -> dict:
        return {
            "edited_parts": {
                str(part): [
                    {"text": v.text, "edited_at_apple_seconds": v.edited_at_apple_seconds, "guid": v.guid}
                    for v in versions
                ]
                for part, versions in self.edited_parts.items()
            },
            "retracted_parts": list(self.retracted_parts),
            "fully_unsent": self.fully_unsent,
            "errors": list(self.errors),
        }


_EMPTY = SummaryInfo({}, (), False, ())


def decode_summary_info(blob: bytes | None, *, part_count: int | None = None) -> SummaryInfo:
    """Edits and unsends of one message. Never raises; what could not be read lands in `errors`.

    `part_count` (the parts the message body has) decides `fully_unsent` when given; otherwise the
    plist's own list of original parts ("otr") does.
    """
    if blob is None:
        return _EMPTY
    try:
        return _decode(bytes(blob), part_count)
    except Exception as exc:  # noqa: BLE001 - a safety net: the contract is to never raise on any input
        return SummaryInfo({}, (), False, (f"message_summary_info could not be decoded: {exc!r}",))


def _decode(data: bytes, part_count: int | None) -> SummaryInfo:
    errors: list[str] = []
    if not data:
        return SummaryInfo({}, (), False, ("message_summary_info is empty",))
    if len(data) > MAX_SUMMARY_BYTES:
        return SummaryInfo({}, (), False, (f"message_summary_info of {len(data)} bytes is over the "
                                           f"{MAX_SUMMARY_BYTES}-byte limit",))
    try:
        root = plistlib.loads(data)
    except Exception as exc:  # noqa: BLE001 - plistlib raises many types on malformed input
        return SummaryInfo({}, (), False, (f"not a property list: {exc}",))
    if not isinstance(root, dict):
        return SummaryInfo({}, (), False, (f"property list root is {type(root).__name__}, not a dict",))

    edited: dict[int, tuple[EditVersion, ...]] = {}
    budget = [MAX_FULL_DECODE_BYTES]
    content = root.get("ec", {})
    if not isinstance(content, dict):
        errors.append("'ec' is not a dict")
        content = {}
    for key, versions in content.items():
        part = _part_number(key, "ec", errors)
        if part is None:
            continue
        if not isinstance(versions, list):
            errors.append(f"'ec' part {part} is not a list")
            continue
        if len(versions) > MAX_VERSIONS:
            errors.append(f"'ec' part {part} has {len(versions)} versions; the first {MAX_VERSIONS} are read")
            versions = versions[:MAX_VERSIONS]
        edited[part] = tuple(_version(v, part, errors, budget) for v in versions)
    edited = dict(sorted(edited.items()))

    retracted_raw = root.get("rp", [])
    if not isinstance(retracted_raw, list):
        errors.append("'rp' is not a list")
        retracted_raw = []
    retracted = tuple(
        sorted({p for p in (_part_number(x, "rp", errors) for x in retracted_raw) if p is not None})
    )

    # Every part the message had: 0..part_count-1, else the plist's own list ("otr"), else (no list)
    # 0..highest unsent. Compared without building ranges: a part number bounds nothing else.
    retracted_set = set(retracted)
    if part_count is not None:
        fully_unsent = bool(retracted) and _covers(retracted_set, max(0, part_count))
    else:
        ranges = root.get("otr", {})
        all_parts: set[int] = set()
        if isinstance(ranges, dict):
            all_parts = {p for p in (_part_number(k, "otr", errors) for k in ranges) if p is not None}
        else:
            errors.append("'otr' is not a dict")
        if all_parts:
            fully_unsent = bool(retracted) and all_parts <= retracted_set
        else:  # no list of parts: they ran at least to the highest unsent
            fully_unsent = bool(retracted) and _covers(retracted_set, retracted[-1] + 1)
    return SummaryInfo(edited, retracted, fully_unsent, tuple(errors))


def _covers(parts: set[int], count: int) -> bool:
    """Whether `parts` holds every number in 0..count-1 (False at once when it is too small to)."""
    return len(parts) >= count and all(p in parts for p in range(count))


def _part_number(value: Any, where: str, errors: list[str]) -> int | None:
    """A part index: an int in lists, a decimal string as a dict key."""
    if type(value) is str and value.isdecimal() and len(value) < 10:
        value = int(value)
    if type(value) is int and 0 <= value <= MAX_PART:
        return value
    if type(value) is int and value > MAX_PART:
        errors.append(f"{where!r} names part {str(value)[:40]}, over the limit of {MAX_PART}")
        return None
    _bad(value, where, errors)
    return None


def _bad(value: Any, where: str, errors: list[str]) -> None:
    errors.append(f"{where!r} has a part that is not a number: {value!r:.40}")
    return None


def _version(entry: Any, part: int, errors: list[str], budget: list[int]) -> EditVersion:
    """One edit version; `budget` ([bytes]) is what the full decoder may still read for this summary."""
    if not isinstance(entry, dict):
        errors.append(f"edit of part {part} is not a dict")
        return EditVersion(None, None, None)
    raw_when = entry.get("d")
    when = None
    if raw_when is not None:
        try:
            if isinstance(raw_when, bool) or not isinstance(raw_when, (int, float)):
                raise TypeError
            when = float(raw_when)
        except (TypeError, OverflowError):
            errors.append(f"edit of part {part} has a non-numeric time {raw_when!r:.40}")
    text = None
    blob = entry.get("t")
    if isinstance(blob, bytes):
        text = fast_body_text(blob)  # the full decoder's text, with no error, when it is not None
        if text is None and len(blob) > budget[0]:
            if budget[0] >= 0:  # said once per summary
                errors.append(f"edit of part {part} and later ones not decoded: over the {MAX_FULL_DECODE_BYTES}"
                              "-byte budget of full decodes per summary")
                budget[0] = -1
        elif text is None:
            budget[0] -= len(blob)
            body = decode_attributed_body(blob)
            text = body.text
            errors.extend(f"edit of part {part}: {e}" for e in body.errors)
    elif blob is not None:
        errors.append(f"edit of part {part} has no typedstream text")
    guid = entry.get("bcg")  # a GUID some versions carry; not in the captured data
    return EditVersion(text, when, guid if isinstance(guid, str) else None)


def encode_summary_info(
    *,
    edits: dict[int, list[tuple[str, float]]] | None = None,
    retracted_parts: list[int] | None = None,
    part_ranges: dict[int, tuple[int, int]] | None = None,
) -> bytes:
    """A message_summary_info plist as Messages writes it.

    `edits`: part -> [(text, seconds since 2001-01-01)], oldest first. `part_ranges`: part ->
    (start, length) in UTF-16 units of the original text, the "otr" entry; by default every part
    from 0 to the highest one named, with the length of its latest edit (0 when not edited).
    """
    edits = edits or {}
    retracted = sorted(set(retracted_parts or []))
    if part_ranges is None:
        part_ranges, cursor = {}, 0
        for part in range(max([*edits, *retracted], default=-1) + 1):
            versions = edits.get(part)
            length = len(versions[-1][0].encode("utf-16-le", "surrogatepass")) // 2 if versions else 0
            part_ranges[part] = (cursor, length)
            cursor += length
    root: dict[str, Any] = {"amc": 0}
    if edits:
        root["ec"] = {
            str(part): [
                {"t": encode_body(text, mutable=False), "d": float(when)} for text, when in versions
            ]
            for part, versions in sorted(edits.items())
        }
    root["ust"] = True
    if edits:
        root["ep"] = sorted(edits)
    root["otr"] = {str(p): {"lo": lo, "le": le} for p, (lo, le) in sorted(part_ranges.items())}
    if retracted:
        root["rp"] = retracted
    return plistlib.dumps(root, fmt=plistlib.FMT_BINARY, sort_keys=False)

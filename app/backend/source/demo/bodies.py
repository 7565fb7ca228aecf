"""BLOB columns of the demo source: attributedBody, message_summary_info, payload_data.

`plain_body` is the hot path: a one-part text body is the same bytes around the text every time,
so it is assembled from a template cut out of `encode_body`'s own output (and checked against it
when this module loads; if the encoder's layout ever changes, the template is not used).
"""

from __future__ import annotations

import functools
import plistlib
import random
from plistlib import UID

from backend.source.attributed_body import OBJECT_REPLACEMENT, AttachmentRef, encode_body
from backend.source.summary_info import encode_summary_info
from backend.source.typedstream import encode_int

# What Messages stores for a message that was never edited: {"amc": 0, "ust": True}.
PLAIN_SUMMARY_INFO = plistlib.dumps({"amc": 0, "ust": True}, fmt=plistlib.FMT_BINARY, sort_keys=False)

_PROBE = "QZ"  # 2 UTF-8 bytes, 2 UTF-16 units; both encode as one byte


def _template(mutable: bool) -> tuple[bytes, bytes, bytes] | None:
    """(head, middle, tail) with body = head + len(utf8) + utf8 + middle + units + tail."""
    blob = encode_body(_PROBE, mutable=mutable)
    marker = b"\x02" + _PROBE.encode() + b"\x86"
    at = blob.find(marker)
    if at < 0:
        return None
    head, rest = blob[:at], blob[at + len(marker) - 1:]
    run = rest.find(b"iI\x01\x02")
    if run < 0:
        return None
    return head, rest[: run + 3], rest[run + 4:]


def _fast(template: tuple[bytes, bytes, bytes], text: str) -> bytes:
    head, middle, tail = template
    raw = text.encode("utf-8")
    units = len(raw) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2
    return b"".join((head, encode_int(len(raw)), raw, middle, encode_int(units), tail))


def _checked(mutable: bool) -> tuple[bytes, bytes, bytes] | None:
    template = _template(mutable)
    samples = ("ok", "x" * 200, "emoji 😂 and é", "a" * 40_000, "line\nbreak")
    if template and all(_fast(template, s) == encode_body(s, mutable=mutable) for s in samples):
        return template
    return None


_TEMPLATES = {True: _checked(True), False: _checked(False)}


class BodyEncoder:
    """attributedBody bytes for the texts of one generation run, with plain bodies cached.

    Attachment bodies are cached as templates: placeholders of the same UTF-8 and UTF-16
    lengths as the attachment guids, file names and caption, so swapping the real values in
    changes no length or label in the stream.
    """

    def __init__(self) -> None:
        self._cache: dict[tuple[str, bool], bytes] = {}
        self._rich: dict[tuple, bytes] = {}
        self._templates: dict[tuple, tuple[bytes, tuple[bytes, ...]]] = {}

    def plain(self, text: str, *, mutable: bool = True) -> bytes:
        """One text part (part 0), no attachments, links or mentions."""
        key = (text, mutable)
        blob = self._cache.get(key)
        if blob is None:
            template = _TEMPLATES[mutable]
            if template is not None and text:
                blob = _fast(template, text)
            else:
                blob = encode_body(text, mutable=mutable)
            if len(self._cache) < 200_000:
                self._cache[key] = blob
        return blob

    def rich(
        self,
        text: str,
        *,
        attachments: list[AttachmentRef] | None = None,
        mentions: list[tuple[int, int, str]] | None = None,
        links: list[tuple[int, int, str]] | None = None,
        mutable: bool = True,
    ) -> bytes:
        if not attachments and not mentions and not links:
            return self.plain(text, mutable=mutable)
        if not attachments:
            key = (text, tuple(mentions or ()), tuple(links or ()), mutable)
            blob = self._rich.get(key)
            if blob is None:
                blob = encode_body(text, mentions=mentions, links=links, mutable=mutable)
                if len(self._rich) < 50_000:
                    self._rich[key] = blob
            return blob
        if mentions or links:
            return encode_body(text, attachments=attachments, mentions=mentions, links=links, mutable=mutable)
        return self._attachment_body(text, attachments, mutable)

    def _attachment_body(self, text: str, attachments: list[AttachmentRef], mutable: bool) -> bytes:
        count = len(attachments)
        caption = text[count:]
        values = [ref.guid for ref in attachments] + [ref.filename or "" for ref in attachments]
        usable = (
            text[:count] == OBJECT_REPLACEMENT * count and OBJECT_REPLACEMENT not in caption
            and caption.isascii() and all(v.isascii() and v for v in values)
            and len(set(values)) == len(values) and caption not in values
            and all(ref.part == part for part, ref in enumerate(attachments))
        )
        if not usable:
            return encode_body(text, attachments=attachments, mutable=mutable)
        key = (count, len(caption), tuple(len(v) for v in values), mutable)
        template = self._templates.get(key)
        if template is None:
            fillers = [chr(ord("A") + i) * len(v) for i, v in enumerate(values)]
            placeholder_caption = "~" * len(caption)
            refs = [AttachmentRef(fillers[i], fillers[count + i], i) for i in range(count)]
            blob = encode_body(OBJECT_REPLACEMENT * count + placeholder_caption, attachments=refs, mutable=mutable)
            pieces = [(OBJECT_REPLACEMENT * count + placeholder_caption).encode(), *(f.encode() for f in fillers)]
            if any(blob.count(piece) != 1 for piece in pieces):
                return encode_body(text, attachments=attachments, mutable=mutable)
            template = self._templates[key] = (blob, tuple(pieces))
        blob, stored = template
        for piece, value in zip(stored, [text, *values], strict=False):
            blob = blob.replace(piece, value.encode())
        return blob


def utf16_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2


def edited_summary(versions: list[tuple[str, float]]) -> bytes:
    """Part 0 edited: versions oldest first, the last one the current text."""
    return encode_summary_info(edits={0: versions}, part_ranges={0: (0, utf16_len(versions[-1][0]))})


def retracted_summary(part_ranges: dict[int, tuple[int, int]], retracted: list[int]) -> bytes:
    return encode_summary_info(retracted_parts=retracted, part_ranges=part_ranges)


def keyed_archive(root_class: str, fields: dict[str, str]) -> bytes:
    """A small NSKeyedArchiver plist: one object of `root_class` whose fields are strings."""
    objects: list = ["$null"]
    root: dict = {}
    objects.append(root)
    for key, value in fields.items():
        root[key] = UID(len(objects))
        objects.append(value)
    root["$class"] = UID(len(objects))
    objects.append({"$classname": root_class, "$classes": [root_class, "NSObject"]})
    archive = {"$version": 100000, "$archiver": "NSKeyedArchiver", "$top": {"root": UID(1)}, "$objects": objects}
    return plistlib.dumps(archive, fmt=plistlib.FMT_BINARY, sort_keys=False)


@functools.lru_cache(maxsize=256)
def url_preview_payload(url: str, title: str) -> bytes:
    return keyed_archive("RichLink", {"URL": url, "title": title, "siteName": url.split("/")[2]})


@functools.lru_cache(maxsize=256)
def extension_payload(ldtext: str, url: str) -> bytes:
    """payload_data of an iMessage app balloon: `ldtext` is the line a notification shows."""
    return keyed_archive("MSMessage", {"ldtext": ldtext, "URL": url})


def random_bytes(rng: random.Random, size: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(size))

"""`message.attributedBody`: the NSAttributedString that Messages archives with NSArchiver.

The archived object is an NS(Mutable)AttributedString: its NS(Mutable)String (UTF-8 bytes), then one
("iI" dictionary-number, length) pair per attribute run, each new dictionary following the first
run that uses it. Run lengths count UTF-16 code units. Messages' attributes say which message part
(bubble) a run belongs to, which attachment a U+FFFC stands for, mentions, links and codes.

`decode_body_text` is the bulk-import hot path: it recognises the exact layout Messages writes for a
one-part message (`fast_body_text`) and falls back to the full decoder for anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.source.keyed_archive import KeyedArchiveError, decode_keyed_string, is_keyed_archive
from backend.source.typedstream import (
    ATTRIBUTED_STRING_CLASS,
    MUTABLE_ATTRIBUTED_STRING_CLASS,
    URL,
    Object,
    TruncatedBytes,
    TypedStreamError,
    TypedStreamReader,
    TypedStreamWriter,
    foundation_value,
)
from backend.source.typedstream.reader import MAX_STREAM_BYTES, MAX_VISITS, VISITS_PER_DICTIONARY

PART_KEY = "__kIMMessagePartAttributeName"
TRANSFER_GUID_KEY = "__kIMFileTransferGUIDAttributeName"
FILENAME_KEY = "__kIMFilenameAttributeName"
MENTION_KEY = "__kIMMentionConfirmedMention"
LINK_KEY = "__kIMLinkAttributeName"
ONE_TIME_CODE_KEY = "__kIMOneTimeCodeAttributeName"
AUDIO_TRANSCRIPTION_KEY = "IMAudioTranscription"
OBJECT_REPLACEMENT = "\ufffc"


@dataclass(frozen=True, slots=True)
class BodyPart:
    """One message part (bubble)."""

    index: int
    text: str
    kind: str  # "text" | "attachment"
    attachment_guid: str | None = None


@dataclass(frozen=True, slots=True)
class AttachmentRef:
    guid: str
    filename: str | None
    part: int | None


@dataclass(frozen=True, slots=True)
class DecodedBody:
    text: str | None
    parts: tuple[BodyPart, ...]
    attachments: tuple[AttachmentRef, ...]
    mentions: tuple[str, ...]
    links: tuple[str, ...]
    one_time_code: str | None
    audio_transcription: str | None
    errors: tuple[str, ...]

    def to_json(self) -> dict:
        return {
            "text": self.text,
            "parts": [
                {"index": p.index, "text": p.text, "kind": p.kind, "attachment_guid": p.attachment_guid}
                for p in self.parts
            ],
            "attachments": [
                {"guid": a.guid, "filename": a.filename, "part": a.part} for a in self.attachments
            ],
            "mentions": list(self.mentions),
            "links": list(self.links),
            "one_time_code": self.one_time_code,
            "audio_transcription": self.audio_transcription,
            "errors": list(self.errors),
        }


def _failed(errors: list[str], text: str | None = None) -> DecodedBody:
    return DecodedBody(text, (), (), (), (), None, None, tuple(errors))


# --- fast path ------------------------------------------------------------------------------
# The bytes up to and including the "+" type string of the body string, as Messages writes them:
# NSMutableAttributedString > NSMutableString (newer macOS), NSAttributedString > NSString (older).
_MUTABLE_PREFIX = bytes.fromhex(
    "040b73747265616d747970656481e803840140848484194e534d757461626c654174747269627574656453"
    "7472696e67008484124e5341747472696275746564537472696e67008484084e534f626a65637400859284"
    "84840f4e534d757461626c65537472696e67018484084e53537472696e67019584012b"
)
_PLAIN_PREFIX = bytes.fromhex(
    "040b73747265616d747970656481e803840140848484124e5341747472696275746564537472696e670084"
    "84084e534f626a656374008592848484084e53537472696e67019484012b"
)
_MUTABLE_START = len(_MUTABLE_PREFIX)
_PLAIN_START = len(_PLAIN_PREFIX)
END_BYTE = 0x86
# What follows the string of a one-part message: END of the string, then nothing but the END of the
# attributed string, or one "iI" run (dictionary 1, length) whose new dictionary is {part attribute: 0}.
# The two layouts differ only in the labels of the classes the prefix defined.
_NO_RUNS_TAIL = bytes.fromhex("8686")
_RUN_HEAD = bytes.fromhex("868402694901")
_MUTABLE_RUN_TAIL = bytes.fromhex(
    "928484840c4e5344696374696f6e617279009584016901928498981d5f5f6b494d4d657373616765506172744174747269"
    "627574654e616d658692848484084e534e756d626572008484074e5356616c7565009584012a849b9b00868686"
)
_PLAIN_RUN_TAIL = bytes.fromhex(
    "928484840c4e5344696374696f6e617279009484016901928496961d5f5f6b494d4d657373616765506172744174747269"
    "627574654e616d658692848484084e534e756d626572008484074e5356616c7565009484012a84999900868686"
)
_INT_WIDTHS = {0x81: 2, 0x82: 4, 0x87: 8}


def decode_body_text(blob: bytes | None) -> str | None:
    """The message text only; equal to `decode_attributed_body(blob).text` for every blob, much faster
    for the common one (`fast_body_text`)."""
    text = fast_body_text(blob)
    return text if text is not None else decode_attributed_body(blob).text


def fast_body_text(blob: bytes | None) -> str | None:
    """The text of a blob laid out exactly as Messages writes a one-part message (the fixed prefix, the
    string, then no attribute run or one run over the whole text whose dictionary is {part: 0}); None
    for any other blob, which only the full decoder may read.

    The whole blob is compared, attributes included: a blob whose string is intact but whose attributes
    are anything else (another dictionary, one that contains itself, one over a limit) is not
    recognised, so the text returned here is always what the full decoder returns, with no error."""
    if type(blob) is not bytes:
        return None
    if blob.startswith(_MUTABLE_PREFIX):
        pos, run_tail = _MUTABLE_START, _MUTABLE_RUN_TAIL
    elif blob.startswith(_PLAIN_PREFIX):
        pos, run_tail = _PLAIN_START, _PLAIN_RUN_TAIL
    else:
        return None
    if len(blob) <= pos + 2:
        return None
    size = blob[pos]
    if size < 0x80:
        pos += 1
    elif size == 0x81:  # read as the full decoder reads a length: unsigned
        size = blob[pos + 1] | (blob[pos + 2] << 8)
        pos += 3
    elif size == 0x82:
        size = int.from_bytes(blob[pos + 1 : pos + 5], "little")
        pos += 5
    else:
        return None
    end = pos + size
    if end >= len(blob) or blob[end] != END_BYTE:
        return None
    try:
        text = blob[pos:end].decode("utf-8")
    except UnicodeDecodeError:
        return None
    tail = memoryview(blob)[end:]
    if tail == _NO_RUNS_TAIL:
        return text
    if tail[: len(_RUN_HEAD)] != _RUN_HEAD:
        return None
    units = size if text.isascii() else len(text.encode("utf-16-le", "surrogatepass")) // 2
    length, after = _unsigned_at(tail, len(_RUN_HEAD))
    if length != units or tail[after:] != run_tail:
        return None
    return text


def _unsigned_at(data: memoryview, pos: int) -> tuple[int, int]:
    """An unsigned integer as the full decoder reads one ('I'), and the position after it; -1 if none."""
    if pos >= len(data):
        return -1, pos
    tag = data[pos]
    if tag < 0x80 or tag >= 0x92:
        return tag, pos + 1
    width = _INT_WIDTHS.get(tag)
    if width is None or pos + 1 + width > len(data):
        return -1, pos
    return int.from_bytes(data[pos + 1 : pos + 1 + width], "little"), pos + 1 + width


# --- full decoder ---------------------------------------------------------------------------
def decode_attributed_body(blob: bytes | None) -> DecodedBody:
    """Everything Messages put in an attributedBody. Never raises; problems land in `errors`."""
    if blob is None:
        return _failed([])
    try:
        return _decode(bytes(blob))
    except Exception as exc:  # noqa: BLE001 - a safety net: the contract is to never raise on any input
        return _failed([f"attributedBody could not be decoded: {exc!r}"])


def _decode(data: bytes) -> DecodedBody:
    errors: list[str] = []
    if not data:
        return _failed(["attributedBody is empty"])
    if len(data) > MAX_STREAM_BYTES:
        return _failed([f"attributedBody of {len(data)} bytes is over the {MAX_STREAM_BYTES}-byte limit"])
    if is_keyed_archive(data):
        return _decode_keyed(data)
    reader = TypedStreamReader(data)
    try:
        reader.read_all()
    except TypedStreamError as exc:
        errors.append(f"typedstream: {exc}")
    except RecursionError:
        errors.append("typedstream: structure nests too deeply")
    groups = reader.groups
    root = groups[0].values[0] if groups and groups[0].types == "@" and groups[0].values else None
    if not isinstance(root, Object):
        if not errors:
            errors.append("typedstream holds no object")
        return _failed(errors)
    if root.is_kind_of("NSString"):
        return _failed(errors, _string_text(root, errors))
    if not root.is_kind_of("NSAttributedString"):
        errors.append(f"top-level object is {root.class_name or 'classless'}, not an NSAttributedString")
        return _failed(errors)
    first = root.groups[0].values[0] if root.groups and root.groups[0].values else None
    if not isinstance(first, Object) or not first.is_kind_of("NSString"):
        errors.append("NSAttributedString has no string")
        return _failed(errors)
    text = _string_text(first, errors)
    if text is None:
        return _failed(errors)
    try:
        runs = _read_runs(root, errors)
    except TypedStreamError as exc:  # over a limit, or a value that contains itself: hostile, not damaged
        errors.append(f"typedstream: {exc}")
        return _failed(errors)
    except Exception as exc:  # noqa: BLE001 - keep the text whatever else the attributes hold
        errors.append(f"attribute runs could not be decoded: {exc!r}")
        return _failed(errors, text)
    try:
        return _interpret(text, runs, errors)
    except Exception as exc:  # noqa: BLE001 - keep the text whatever the attributes hold
        errors.append(f"attribute runs could not be decoded: {exc!r}")
        return _failed(errors, text)


def _decode_keyed(data: bytes) -> DecodedBody:
    """An attributedBody stored as an NSKeyedArchiver plist (keyed_archive.py) instead of a typedstream."""
    errors: list[str] = []
    try:
        keyed = decode_keyed_string(data)
    except KeyedArchiveError as exc:
        return _failed([f"keyed archive: {exc}"])
    try:
        runs = [(length, _info_from_plain(attributes)) for length, attributes in keyed.runs]
        return _interpret(keyed.text, runs, errors)
    except Exception as exc:  # noqa: BLE001 - keep the text whatever the attributes hold
        errors.append(f"attribute runs could not be decoded: {exc!r}")
        return _failed(errors, keyed.text)


def _info_from_plain(attributes: dict) -> _RunInfo:
    def text(key: str) -> str | None:
        value = attributes.get(key)
        return value if type(value) is str and value else None

    part = attributes.get(PART_KEY)
    code = attributes.get(ONE_TIME_CODE_KEY)
    code_text = (_str_or_none(code.get("code")) or _str_or_none(code.get("displayCode"))) if type(
        code) is dict else None
    return (part if type(part) is int else None, text(TRANSFER_GUID_KEY), text(FILENAME_KEY), text(MENTION_KEY),
            text(LINK_KEY), code_text, text(AUDIO_TRANSCRIPTION_KEY))


def _string_text(obj: Object, errors: list[str]) -> str | None:
    for group in obj.groups:
        if group.types == "+" and group.values:
            raw = group.values[0]
            if type(raw) is TruncatedBytes:
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raw = raw[: exc.start]
                return raw.decode("utf-8")  # errors already says the string was cut short
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                errors.append(f"string is not valid UTF-8 ({exc.reason} at byte {exc.start})")
                return raw.decode("utf-8", "replace")
    errors.append(f"{obj.class_name} holds no characters")
    return None


_RunInfo = tuple  # (part index, attachment guid, filename, mention, link, one-time code, transcript)
_NO_INFO: _RunInfo = (None,) * 7
_WANTED = frozenset(
    (PART_KEY, TRANSFER_GUID_KEY, FILENAME_KEY, MENTION_KEY, LINK_KEY, ONE_TIME_CODE_KEY,
     AUDIO_TRANSCRIPTION_KEY)
)
_STRING_CLASSES = frozenset(("NSString", "NSMutableString"))


def _read_runs(root: Object, errors: list[str]) -> list[tuple[int, _RunInfo]]:
    """(UTF-16 length, what its attributes say) per run, in order."""
    runs: list[tuple[int, _RunInfo]] = []
    infos: list[_RunInfo] = []
    # one budget for the whole blob (dictionaries may share, or be, their values), growing with its dictionaries:
    # the work stays linear in the blob's size and near a millisecond for a small hostile one
    budget = [MAX_VISITS]
    groups = root.groups
    count = len(groups)
    i = 1
    while i < count:
        group = groups[i]
        values = group.values
        if group.types != "iI" or len(values) != 2:
            errors.append(f"unexpected {group.types!r} in attribute runs")
            break
        number, length = values
        i += 1
        if number == len(infos) + 1 and i < count and groups[i].types == "@":
            value = groups[i].values[0] if groups[i].values else None
            i += 1
            budget[0] += VISITS_PER_DICTIONARY  # a message of many runs (attachments, links) gets room for each
            info = _run_info(value, budget)
            if info is None:
                errors.append(f"attribute run {len(runs)} has no dictionary")
                info = _NO_INFO
            infos.append(info)
        elif not 1 <= number <= len(infos):
            errors.append(f"attribute run {len(runs)} names unknown dictionary {number}")
            break
        runs.append((length, infos[number - 1]))
    return runs


def _run_info(value: Any, budget: list[int]) -> _RunInfo | None:
    """What one attribute dictionary says; only the attributes we use are converted."""
    if type(value) is not Object or not value.is_kind_of("NSDictionary"):
        return None
    part = guid = filename = mention = link = code = transcription = None
    items = value.values()
    for k in range(1, len(items) - 1, 2):
        key = _key_string(items[k], budget)
        if key not in _WANTED:
            continue
        item = foundation_value(items[k + 1], budget=budget)
        if key == PART_KEY:
            part = item if type(item) is int else None
        elif type(item) is not str:
            if key == ONE_TIME_CODE_KEY and type(item) is dict:
                code = _str_or_none(item.get("code")) or _str_or_none(item.get("displayCode"))
        elif key == TRANSFER_GUID_KEY:
            guid = item or None
        elif key == FILENAME_KEY:
            filename = item
        elif key == MENTION_KEY:
            mention = item or None
        elif key == LINK_KEY:
            link = item or None
        elif key == AUDIO_TRANSCRIPTION_KEY:
            transcription = item
    return (part, guid, filename, mention, link, code, transcription)


def _key_string(key: Any, budget: list[int]) -> str | None:
    """An attribute name: nearly always a plain NSString, read here without the general path."""
    if type(key) is Object and key.cls is not None and key.cls.name in _STRING_CLASSES:
        groups = key.groups
        if groups and groups[0].types == "+" and groups[0].values:
            return bytes(groups[0].values[0]).decode("utf-8", "replace")
    value = foundation_value(key, budget=budget)
    return value if type(value) is str else None


def _interpret(text: str, runs: list[tuple[int, _RunInfo]], errors: list[str]) -> DecodedBody:
    if text.isascii():
        units, encoded = len(text), None
    else:
        encoded = text.encode("utf-16-le", "surrogatepass")
        units = len(encoded) // 2
    parts: list[BodyPart] = []
    attachments: list[AttachmentRef] = []
    mentions: list[str] = []
    links: list[str] = []
    one_time_code = audio_transcription = None
    previous = _NO_INFO
    start = index = 0
    pieces: list[str] = []
    part_key: tuple[int, str | None] | None = None
    for length, info in runs:
        if type(length) is not int or length < 0 or start + length > units:
            errors.append(f"attribute run at {start} of length {length} exceeds {units} units")
            break
        end = start + length
        piece = text[start:end] if encoded is None else _utf16_slice(encoded, start, end, errors)
        part, guid, filename, mention, link, code, transcription = info
        if part is not None:
            index = part
        if part_key != (index, guid):
            if pieces:
                parts.append(_part(part_key, pieces))
            part_key, pieces = (index, guid), []
        pieces.append(piece)
        if guid is not None and guid != previous[1]:
            attachments.append(AttachmentRef(guid, filename, part))
        if mention is not None and mention != previous[3]:
            mentions.append(mention)
        if link is not None and link != previous[4]:
            links.append(link)
        if one_time_code is None:
            one_time_code = code
        if audio_transcription is None:
            audio_transcription = transcription
        previous = info
        start = end
    else:
        if runs and start != units:
            errors.append(f"attribute runs cover {start} of {units} UTF-16 units")
    if pieces:
        parts.append(_part(part_key, pieces))
    return DecodedBody(
        text,
        tuple(parts),
        tuple(attachments),
        tuple(mentions),
        tuple(links),
        one_time_code,
        audio_transcription,
        tuple(errors),
    )


def _part(key: Any, pieces: list[str]) -> BodyPart:
    index, guid = key
    text = pieces[0] if len(pieces) == 1 else "".join(pieces)
    return BodyPart(index, text, "text" if guid is None else "attachment", guid)


def _utf16_slice(encoded: bytes, start: int, end: int, errors: list[str]) -> str:
    raw = encoded[2 * start : 2 * end]
    try:
        return raw.decode("utf-16-le")
    except UnicodeDecodeError:
        errors.append(f"attribute run {start}..{end} splits a surrogate pair")
        return raw.decode("utf-16-le", "replace")


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --- encoder ---------------------------------------------------------------------------------
def encode_attributed_body(
    text: str,
    *,
    parts: list[tuple[int, int, int]] | None = None,
    attachments: list[AttachmentRef] | None = None,
    mentions: list[tuple[int, int, str]] | None = None,
    links: list[tuple[int, int, str]] | None = None,
) -> bytes:
    """An attributedBody as Messages writes it (NSMutableAttributedString).

    Ranges are (start, length, value) in UTF-16 units; `parts` are (start, length, part index).
    Attachments stand, in order, for the U+FFFC characters of `text`. By default the whole text is
    part 0, or, with attachments, each U+FFFC and each stretch between them is its own part.
    """
    return encode_body(text, parts=parts, attachments=attachments, mentions=mentions, links=links)


def encode_body(
    text: str,
    *,
    parts: list[tuple[int, int, int]] | None = None,
    attachments: list[AttachmentRef] | None = None,
    mentions: list[tuple[int, int, str]] | None = None,
    links: list[tuple[int, int, str]] | None = None,
    mutable: bool = True,
) -> bytes:
    """`encode_attributed_body`, choosing the class pair (immutable: edit history, older macOS)."""
    units = len(text.encode("utf-16-le", "surrogatepass")) // 2
    spans: list[tuple[int, int, str, Any]] = []  # (start, end, key, value)
    positions = _utf16_positions(text, OBJECT_REPLACEMENT)
    attachments = list(attachments or [])
    if len(attachments) > len(positions):
        raise ValueError(f"{len(attachments)} attachments but only {len(positions)} U+FFFC in text")
    for position, ref in zip(positions, attachments, strict=False):
        spans.append((position, position + 1, TRANSFER_GUID_KEY, ref.guid))
        if ref.filename is not None:
            spans.append((position, position + 1, FILENAME_KEY, ref.filename))
    if parts is None:
        parts = _default_parts(units, positions, attachments)
    for start, length, number in parts:
        spans.append((start, start + length, PART_KEY, int(number)))
    for start, length, handle in mentions or []:
        spans.append((start, start + length, MENTION_KEY, handle))
    for start, length, url in links or []:
        spans.append((start, start + length, LINK_KEY, URL(url)))
    for start, end, key, _ in spans:
        if not 0 <= start <= end <= units:
            raise ValueError(f"{key} range {start}..{end} is outside the text's {units} UTF-16 units")
    return _write(text, units, spans, mutable)


def _utf16_positions(text: str, char: str) -> list[int]:
    if char not in text:
        return []
    positions, offset = [], 0
    for c in text:
        if c == char:
            positions.append(offset)
        offset += 2 if ord(c) > 0xFFFF else 1
    return positions


def _default_parts(
    units: int, positions: list[int], attachments: list[AttachmentRef]
) -> list[tuple[int, int, int]]:
    if not attachments:
        return [(0, units, 0)] if units else []
    parts, cursor, number = [], 0, 0
    for position, ref in zip(positions, attachments, strict=False):
        if position > cursor:
            parts.append((cursor, position - cursor, number))
            number += 1
        number = ref.part if ref.part is not None else number
        parts.append((position, 1, number))
        number += 1
        cursor = position + 1
    if cursor < units:
        parts.append((cursor, units - cursor, number))
    return parts


_KEY_ORDER = {TRANSFER_GUID_KEY: 0, LINK_KEY: 1, PART_KEY: 2, FILENAME_KEY: 3, MENTION_KEY: 4}


def _write(text: str, units: int, spans: list[tuple[int, int, str, Any]], mutable: bool) -> bytes:
    bounds = sorted({0, units, *(s for s, _, _, _ in spans), *(e for _, e, _, _ in spans)})
    runs: list[tuple[int, tuple[tuple[str, Any], ...]]] = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        attributes = {key: value for s, e, key, value in spans if s <= start and end <= e}
        items = tuple(sorted(attributes.items(), key=lambda item: _KEY_ORDER.get(item[0], 9)))
        if runs and runs[-1][1] == items:
            runs[-1] = (runs[-1][0] + end - start, items)
        else:
            runs.append((end - start, items))
    writer = TypedStreamWriter()
    writer.begin_group("@")
    writer.begin_object(MUTABLE_ATTRIBUTED_STRING_CLASS if mutable else ATTRIBUTED_STRING_CLASS)
    writer.begin_group("@")
    writer.write_string_object(text, mutable=mutable, shared=False)
    numbers: dict[tuple[tuple[str, Any], ...], int] = {}
    for length, items in runs:
        number = numbers.get(items)
        is_new = number is None
        if is_new:
            number = numbers[items] = len(numbers) + 1
        writer.begin_group("iI")
        writer.write_int(numbers[items])
        writer.write_int(length)
        if is_new:
            writer.begin_group("@")
            writer.write_dictionary_object(items)
    writer.end_object()
    return writer.getvalue()

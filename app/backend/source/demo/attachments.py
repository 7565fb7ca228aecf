"""Attachment rows of the demo source, and the few small files that really exist.

Rows point at ~/Library/Messages/Attachments/<2 hex>/<2 digits>/<GUID>/<name> the way Messages
stores them. The demo's out_dir plays ~/Library/Messages: a handful of files (PNG images, vCards)
are written under out_dir/Attachments/ at the same relative path; every other row points at a
file that is not there, as on a Mac restored without its attachments.
"""

from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from backend.source.demo.plan import new_guid

ATTACHMENT_COLUMNS = (
    "ROWID", "guid", "created_date", "start_date", "filename", "uti", "mime_type", "transfer_state",
    "is_outgoing", "transfer_name", "total_bytes", "is_sticker", "hide_attachment", "ck_sync_state",
    "original_guid", "preview_generation_state",
)
HOME_PREFIX = "~/Library/Messages/Attachments"
NS = 1_000_000_000


@dataclass(frozen=True)
class Kind:
    key: str
    name: str  # a format with {n} for a number
    uti: str
    mime: str
    quote: str  # how a tapback names it
    size: tuple[int, int]
    audio: bool = False
    writable: bool = False  # the demo can write a real small file of this kind


KINDS = (
    Kind("jpeg", "IMG_{n:04d}.jpeg", "public.jpeg", "image/jpeg", "an image", (180_000, 3_500_000)),
    Kind("heic", "IMG_{n:04d}.HEIC", "public.heic", "image/heic", "an image", (400_000, 2_800_000)),
    Kind("mov", "IMG_{n:04d}.MOV", "com.apple.quicktime-movie", "video/quicktime", "a movie", (2_000_000, 60_000_000)),
    Kind("png", "IMG_{n:04d}.PNG", "public.png", "image/png", "an image", (60_000, 1_500_000), writable=True),
    Kind("gif", "giphy-{n}.gif", "com.compuserve.gif", "image/gif", "an image", (300_000, 4_000_000)),
    Kind("pdf", "Document-{n}.pdf", "com.adobe.pdf", "application/pdf", "an attachment", (40_000, 900_000)),
    Kind("vcf", "Contact {n}.vcf", "public.vcard", "text/vcard", "a contact", (300, 2_000), writable=True),
    Kind("caf", "Audio Message.caf", "com.apple.coreaudio-format", "audio/x-caf", "an audio message",
         (20_000, 400_000), audio=True),
)
KIND_WEIGHTS = (30, 30, 8, 10, 4, 4, 3, 11)
IMAGE_KINDS = KINDS[:4]


@dataclass
class Attachment:
    rowid: int
    guid: str
    transfer_name: str
    quote: str
    row: tuple


class AttachmentFactory:
    def __init__(self, rng: random.Random, attachments_dir: Path, real_file_budget: int) -> None:
        self.rng = rng
        self.dir = attachments_dir
        self.budget = real_file_budget
        self.rowid = 0
        self.real_paths: list[str] = []

    def pick_kind(self, *, image: bool = False) -> Kind:
        if image:
            return IMAGE_KINDS[self.rng.randrange(len(IMAGE_KINDS))]
        return self.rng.choices(KINDS, KIND_WEIGHTS)[0]

    def create(self, kind: Kind, *, guid: str, ns: int, outgoing: bool) -> Attachment:
        rng = self.rng
        self.rowid += 1
        name = kind.name.format(n=rng.randrange(1, 10_000))
        relative = f"{rng.randrange(256):02x}/{rng.randrange(16):02d}/{new_guid(rng)}/{name}"
        size = rng.randrange(*kind.size)
        filename: str | None = f"{HOME_PREFIX}/{relative}"
        transfer_state = 5
        if kind.writable and self.budget > 0 and (not self.real_paths or rng.random() < 0.3):
            size = self._write(relative, kind, rng)
            self.budget -= 1
            self.real_paths.append(f"{HOME_PREFIX}/{relative}")
        elif rng.random() < 0.01:  # never downloaded from iCloud
            filename, transfer_state = None, 0
        created = ns // NS if rng.random() > 0.03 else 0
        row = (self.rowid, guid, created, created, filename, kind.uti, kind.mime, transfer_state, int(outgoing),
               name, size, 0, 0, 1, guid, 1 if kind.mime.startswith(("image/", "video/")) else 0)
        return Attachment(self.rowid, guid, name, kind.quote, row)

    def _write(self, relative: str, kind: Kind, rng: random.Random) -> int:
        path = self.dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind.key == "png":
            data = tiny_png(rng.randrange(256), rng.randrange(256), rng.randrange(256))
        else:
            number = f"+1415555{rng.randrange(200, 300):04d}"
            data = ("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Demo;Contact;;;\r\nFN:Contact Demo\r\n"
                    f"TEL;type=CELL:{number}\r\nEND:VCARD\r\n").encode()
        path.write_bytes(data)
        return len(data)


def tiny_png(red: int, green: int, blue: int, size: int = 16) -> bytes:
    """A valid size x size PNG of one colour."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    pixels = b"".join(b"\x00" + bytes((red, green, blue)) * size for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(pixels, 9))
            + chunk(b"IEND", b""))

"""Thumbnails of image and sticker attachments whose file is on disk (HEIC through pillow-heif), made once
and kept under the data dir as JPEG (PNG where the image has transparency)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine

from backend.attachments import repo
from backend.attachments.exceptions import AttachmentNotFound, ThumbnailUnavailable
from backend.config import get_settings
from backend.db.session import session_scope

SIZES = (128, 256, 512)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".heic", ".heif", ".webp", ".tif", ".tiff", ".bmp")
MAX_SOURCE_BYTES = 80 * 1024 * 1024


def _is_image(row: dict) -> bool:
    mime = (row["mime_type"] or "").lower()
    name = (row["path"] or row["transfer_name"] or "").lower()
    return mime.startswith("image/") or bool(row["is_sticker"]) or name.endswith(IMAGE_SUFFIXES)


def thumbnail_dir() -> Path:
    return get_settings().data_dir / "thumbnails"


def get_thumbnail(engine: Engine, attachment_id: int, *, size: int = 256) -> tuple[Path, str]:
    """(file, media type) of the attachment's thumbnail at most `size` px on its longer side."""
    with session_scope(engine) as conn:
        row = repo.get(conn, attachment_id)
    if row is None:
        raise AttachmentNotFound(f"No attachment {attachment_id}.")
    path = row["path"]
    if not _is_image(row):
        raise ThumbnailUnavailable("This attachment is not an image.", attachment_id=attachment_id)
    if not path or not os.path.isfile(path):
        raise ThumbnailUnavailable("The file is not on this Mac (it may be in iCloud).", attachment_id=attachment_id)
    size = min((s for s in SIZES if s >= size), default=SIZES[-1])
    stat = os.stat(path)
    if stat.st_size > MAX_SOURCE_BYTES:
        raise ThumbnailUnavailable("The image is too large to preview.", attachment_id=attachment_id)
    stem = f"{attachment_id}-{size}-{int(stat.st_mtime)}-{stat.st_size}"
    folder = thumbnail_dir()
    for suffix, media in ((".jpg", "image/jpeg"), (".png", "image/png")):
        if (folder / (stem + suffix)).exists():
            return folder / (stem + suffix), media
    return _render(Path(path), folder, stem, size, attachment_id)


def _render(source: Path, folder: Path, stem: str, size: int, attachment_id: int) -> tuple[Path, str]:
    from PIL import Image, ImageOps, UnidentifiedImageError  # noqa: PLC0415 - imaging loads only when a thumbnail is made
    from pillow_heif import register_heif_opener  # noqa: PLC0415 - as above

    register_heif_opener()
    try:
        with Image.open(source) as opened:
            image = ImageOps.exif_transpose(opened)
            image.thumbnail((size, size))
            keeps_alpha = image.mode in ("RGBA", "LA", "P") and "transparency" in image.info or image.mode in (
                "RGBA", "LA")
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / (stem + (".png" if keeps_alpha else ".jpg"))
            partial = target.with_suffix(target.suffix + ".part")
            if keeps_alpha:
                image.convert("RGBA").save(partial, format="PNG")
            else:
                image.convert("RGB").save(partial, format="JPEG", quality=82)
            partial.replace(target)
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise ThumbnailUnavailable(f"The image could not be read: {err}", attachment_id=attachment_id) from err
    return target, "image/png" if keeps_alpha else "image/jpeg"

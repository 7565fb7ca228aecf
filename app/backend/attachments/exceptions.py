from __future__ import annotations

from backend.errors import BackendError


class AttachmentNotFound(BackendError):
    status_code = 404
    code = "attachment_not_found"


class ThumbnailUnavailable(BackendError):
    status_code = 404
    code = "thumbnail_unavailable"

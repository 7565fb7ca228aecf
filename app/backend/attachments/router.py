from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from backend.attachments import service

router = APIRouter(prefix="/attachments", tags=["attachments"])


@router.get("/{attachment_id}/thumbnail", response_class=FileResponse)
def thumbnail(attachment_id: int, request: Request, size: int = Query(256, ge=16, le=512)) -> FileResponse:
    """A thumbnail of an image or sticker whose file is on disk; 404 with a reason otherwise."""
    path, media = service.get_thumbnail(request.app.state.engine, attachment_id, size=size)
    return FileResponse(path, media_type=media, headers={"Cache-Control": "private, max-age=86400"})

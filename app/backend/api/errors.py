"""The one place that turns domain errors into HTTP responses."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from backend.errors import BackendError

log = logging.getLogger(__name__)


async def backend_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BackendError)
    if exc.status_code >= 500:
        log.error("%s: %s", exc.code, exc.message)
    return JSONResponse(exc.to_dict(), status_code=exc.status_code)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BackendError, backend_error_handler)

"""The one place that turns domain errors into HTTP responses."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import StatementError

from backend.errors import BackendError

log = logging.getLogger(__name__)


async def backend_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BackendError)
    if exc.status_code >= 500:
        log.error("%s: %s", exc.code, exc.message)
    return JSONResponse(exc.to_dict(), status_code=exc.status_code)


async def out_of_range_handler(_request: Request, exc: Exception) -> JSONResponse:
    """An integer SQLite cannot hold (above 2^63-1) in a path, query or body: no row can have it."""
    return JSONResponse({"code": "out_of_range", "message": "A number in the request is out of range: ids and "
                         "times are integers below 2^63."}, status_code=422)


async def statement_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StatementError)
    if isinstance(exc.orig, OverflowError):
        return await out_of_range_handler(request, exc.orig)
    raise exc


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(BackendError, backend_error_handler)
    app.add_exception_handler(OverflowError, out_of_range_handler)
    app.add_exception_handler(StatementError, statement_error_handler)

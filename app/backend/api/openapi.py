"""The OpenAPI document, with the status codes the app really answers.

FastAPI documents a route's success and its 422; the rest come from the edges every route shares:
the Host check (400) and the token (401) in security.py, domain errors (BackendError: 400 invalid,
404 not found, 409 conflict, 422 unprocessable, 503 database or broker unavailable) translated in
errors.py, and numbers SQLite cannot hold (422, errors.py). Server-sent event routes answer
`text/event-stream`. Every error body is `ErrorBody` ({code, message, details?}), except FastAPI's
own validation errors and Starlette's `{"detail": ...}` (a body that is not JSON).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from backend.api.security import PUBLIC_API_PATHS

ERROR_BODY = {
    "title": "ErrorBody",
    "type": "object",
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}},
    "required": ["code", "message"],
}
HTTP_ERROR = {  # Starlette's own errors (a body that is not JSON, an unknown route): {"detail": "..."}
    "title": "HTTPError", "type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"],
}
_REF = {"anyOf": [{"$ref": "#/components/schemas/ErrorBody"}, {"$ref": "#/components/schemas/HTTPError"}]}
_DESCRIPTIONS = {
    "400": "Invalid request, or a Host header that is not this loopback server",
    "401": "Missing or wrong token",
    "404": "No such resource",
    "409": "Conflicts with the resource's state (or needs confirmation)",
    "422": "Unprocessable: invalid input, out-of-range numbers, unknown ids in the body",
    "503": "The database or the broker is unavailable",
}
_WRITES = {"post", "put", "patch", "delete"}


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["ErrorBody"], schemas["HTTPError"] = ERROR_BODY, HTTP_ERROR
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    _document(path, method, operation)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the document


def _document(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    has_input = bool(operation.get("parameters")) or "requestBody" in operation
    codes = ["400"]
    if path.startswith("/api"):
        codes.append("503")
        if path not in PUBLIC_API_PATHS:
            codes.append("401")
        if has_input or "{" in path:
            codes += ["404", "422"]
        if method in _WRITES:
            codes += ["404", "409", "422"]
    for code in dict.fromkeys(codes):
        error = {"application/json": {"schema": _REF}}
        existing = responses.get(code)
        if existing is None:
            responses[code] = {"description": _DESCRIPTIONS[code], "content": error}
            continue
        schema = existing.get("content", {}).get("application/json", {}).get("schema")
        if schema is not None and schema != _REF:  # FastAPI's HTTPValidationError, or a route's own
            existing["content"]["application/json"]["schema"] = {"anyOf": [schema, *_REF["anyOf"]]}
    if "/stream" in path:
        success = responses.setdefault("200", {"description": "Server-sent events"})
        success.setdefault("content", {})["text/event-stream"] = {"schema": {}}  # events: see the route

"""Loopback-only HTTP: a per-launch bearer token on /api and a Host check against DNS rebinding."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

PUBLIC_API_PATHS = frozenset({"/api/health", "/api/health/live"})
MCP_PATH = "/mcp"  # the MCP server (streamable HTTP): the same token as /api
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def host_allowed(host_header: str | None, allowed_hosts: Iterable[str]) -> bool:
    if not host_header:
        return False
    host = host_header.strip().lower()
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    allowed = {h.lower() for h in allowed_hosts}
    return host in allowed or name in allowed


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return request.query_params.get("token")  # EventSource cannot set headers


class LoopbackSecurityMiddleware:
    """Rejects foreign Host headers (400) and /api requests without the launch token (401).

    Pure ASGI (not BaseHTTPMiddleware) so streamed responses such as SSE pass through untouched.
    """

    def __init__(self, app: ASGIApp, *, token: str, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        self._token = token
        self._allowed_hosts = tuple(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        response = self._reject(request)
        if response is not None:
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _reject(self, request: Request) -> Response | None:
        if not host_allowed(request.headers.get("host"), self._allowed_hosts):
            return _error(400, "bad_host", "Host header is not the loopback address this server serves")
        path = request.url.path
        guarded = path.startswith("/api") or path == MCP_PATH or path.startswith(MCP_PATH + "/")
        if guarded and path not in PUBLIC_API_PATHS and request.method != "OPTIONS":
            supplied = bearer_token(request)
            # as bytes: compare_digest refuses a str with non-ASCII characters (any such token is wrong)
            if not supplied or not hmac.compare_digest(supplied.encode("utf-8", "surrogateescape"),
                                                       self._token.encode("utf-8")):
                return _error(
                    401,
                    "unauthorized",
                    "Missing or wrong token: send 'Authorization: Bearer <token>' (the token is in "
                    "the ready line printed by `chatstats up`)",
                )
        return None

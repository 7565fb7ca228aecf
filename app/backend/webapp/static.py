"""Serve the renderer's static files at /app with headers that keep the token and the data in the page.

The page itself holds no data: everything it shows comes from /api with the launch token. The token
reaches the page in the URL fragment (`/app/#token=...`), which browsers never send to a server, never
put in a Referer, and which the page strips from the address bar at once (see renderer/js/token.js).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.webapp.urls import APP_PATH

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
))

PAGE_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-cache"),  # a new build shows at the next load; files still revalidate by ETag
)


def default_renderer_dir() -> Path:
    """app/electron/renderer beside the backend package (app/backend)."""
    return Path(__file__).resolve().parents[2] / "electron" / "renderer"


class PageHeaders:
    """Adds the page's security headers to every response of the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in PAGE_HEADERS}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + list(PAGE_HEADERS)}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def default_vendor_dirs() -> dict[str, Path]:
    """Browser builds of the renderer's npm dependencies (node_modules at the repository root), by URL name."""
    root = Path(__file__).resolve().parents[3] / "node_modules"
    return {"chart.js": root / "chart.js" / "dist"}


def mount_vendor(app: FastAPI, dirs: dict[str, Path] | None = None) -> list[str]:
    """Serve each npm dependency's browser build at /app/vendor/NAME/ (installed by `make run` through npm ci);
    returns the names mounted. A missing one answers 404 and the page says how to install it."""
    mounted = []
    for name, folder in (dirs or default_vendor_dirs()).items():
        if folder.is_dir():
            app.mount(f"{APP_PATH}/vendor/{name}", PageHeaders(StaticFiles(directory=folder)), name=f"vendor-{name}")
            mounted.append(name)
    return mounted


def mount_renderer(app: FastAPI, renderer_dir: Path | None = None) -> bool:
    """Mount the renderer at /app (and send / there). False when its folder is missing (a backend-only
    install): the API still serves, and /app answers 404."""
    folder = renderer_dir or default_renderer_dir()
    if not (folder / "index.html").is_file():
        return False
    mount_vendor(app)  # before /app, which would otherwise answer for /app/vendor/...
    app.mount(APP_PATH, PageHeaders(StaticFiles(directory=folder, html=True)), name="app")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{APP_PATH}/")

    return True

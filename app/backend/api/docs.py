"""/docs and /redoc served from files in an installed package (fastapi-offline), not from a CDN: the
API documentation works on a machine without network, and the page loads nothing from elsewhere."""

from __future__ import annotations

import logging
from importlib.util import find_spec
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

log = logging.getLogger(__name__)

ASSETS_PATH = "/docs/assets"


def assets_dir() -> Path | None:
    """Swagger UI's and ReDoc's files, as the fastapi-offline package ships them (found, not imported)."""
    spec = find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def mount_docs(app: FastAPI, *, openapi_url: str) -> None:
    """Create the FastAPI app with docs_url=None and redoc_url=None, then call this."""
    folder = assets_dir()
    if folder is None:  # an install that predates the dependency: the API runs, without /docs
        log.warning("fastapi-offline is not installed: no /docs (run `make install`)")
        return
    app.mount(ASSETS_PATH, StaticFiles(directory=folder), name="docs-assets")
    title = f"{app.title} API"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=openapi_url, title=title,
                                   swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS_PATH}/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=openapi_url, title=title, redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
                              redoc_favicon_url=f"{ASSETS_PATH}/favicon.png", with_google_fonts=False)

"""The inbox UI served at /app: no token needed for the page, strict headers, /api still guarded."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.api.app import create_app
from backend.config import get_settings
from backend.webapp.static import CONTENT_SECURITY_POLICY, default_renderer_dir
from backend.webapp.urls import app_url

TOKEN = "test-token-webapp-0123456789"


def _client(settings) -> TestClient:
    return TestClient(create_app(settings, token=TOKEN), base_url="http://127.0.0.1:8765")


@pytest.fixture
def renderer(tmp_path: Path) -> Path:
    folder = tmp_path / "renderer"
    (folder / "js").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><html><script type=module src=js/main.js></script></html>")
    (folder / "js" / "main.js").write_text("export const ok = true;\n")
    return folder


def test_the_page_is_served_with_strict_headers_and_no_token(renderer):
    with _client(get_settings().model_copy(update={"renderer_dir": renderer})) as client:
        page = client.get("/app/")
        assert page.status_code == 200 and "<script type=module" in page.text
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
        assert page.headers["referrer-policy"] == "no-referrer"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"
        script = client.get("/app/js/main.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert client.get("/app/js/missing.js").status_code == 404
        assert client.get("/app/../../pyproject.toml").status_code == 404  # no way out of the folder
        root = client.get("/", follow_redirects=False)
        assert root.status_code in (302, 307) and root.headers["location"] == "/app/"
        assert client.get("/api/chats").status_code == 401  # the page is public, the data is not
        assert client.get("/app/", headers={"host": "evil.example"}).status_code == 400  # DNS rebinding


def test_without_a_renderer_folder_the_api_still_serves(tmp_path):
    with _client(get_settings().model_copy(update={"renderer_dir": tmp_path / "absent"})) as client:
        assert client.get("/app/").status_code == 404
        assert client.get("/api/health").status_code == 200


def test_the_shipped_renderer_is_found_and_the_url_carries_the_token_in_its_fragment():
    assert (default_renderer_dir() / "index.html").is_file()
    assert app_url("http://127.0.0.1:5000", "abc") == "http://127.0.0.1:5000/app/#token=abc"


def test_docs_load_their_assets_from_this_server_not_a_cdn():
    client = _client(get_settings())
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200, html.text
        assert "cdn." not in html.text and "https://" not in html.text  # nothing fetched from elsewhere
        scripts = re.findall(r'src="([^"]+\.js)"', html.text)
        assert scripts and all(src.startswith("/docs/assets/") for src in scripts)
        for src in scripts:
            asset = client.get(src)
            assert asset.status_code == 200 and len(asset.content) > 100_000  # the real bundle, served here
    css = client.get("/docs/assets/swagger-ui.css")
    assert css.status_code == 200 and ".swagger-ui" in css.text
    assert client.get("/openapi.json").json()["info"]["title"] == "ChatStats"

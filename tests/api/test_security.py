from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from backend.api.app import create_app
from backend.config import get_settings

TOKEN = "test-token-0123456789"


@pytest.fixture
def client():
    app = create_app(get_settings(), token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        yield client


def test_health_is_public_and_reports_database_and_migrations(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["revision"] == body["database"]["head"]
    assert body["version"]


def test_liveness_is_public_and_says_nothing_but_ok(client):
    response = client.get("/api/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert client.get("/api/health/live", headers={"Authorization": "Bearer wrong"}).status_code == 200


def test_api_requires_the_launch_token(client):
    assert client.get("/openapi.json").status_code == 200  # docs live outside /api
    assert client.get("/api/settings").status_code == 401
    assert client.get("/api/settings", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.get("/api/settings", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    assert ok.json()["ui.theme"] == "system"  # seeded at start-up


def test_token_query_parameter_serves_eventsource_clients(client):
    assert client.get(f"/api/settings?token={TOKEN}").status_code == 200
    assert client.get("/api/settings?token=nope").status_code == 401


@pytest.mark.parametrize("host", ["evil.example.com", "evil.example.com:8765", "127.0.0.1.nip.io", ""])
def test_foreign_host_headers_are_rejected(client, host):
    response = client.get("/api/health", headers={"Host": host})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_host"


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "[::1]:8765"])
def test_loopback_host_headers_are_accepted(client, host):
    assert client.get("/api/health", headers={"Host": host}).status_code == 200


def test_domain_errors_map_to_stable_codes(client):
    response = client.get("/api/settings/no.such.key", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404
    assert response.json()["code"] == "setting_not_found"


def test_cors_allows_only_configured_origins(monkeypatch):
    from backend.config import reset_settings_cache

    monkeypatch.setenv("CHATSTATS_CORS_ORIGINS", '["app://chatstats"]')
    reset_settings_cache()
    app = create_app(get_settings(), token=TOKEN)
    with TestClient(app, base_url="http://127.0.0.1:8765") as client:
        good = client.get("/api/health", headers={"Origin": "app://chatstats"})
        bad = client.get("/api/health", headers={"Origin": "https://evil.example.com"})
    assert good.headers.get("access-control-allow-origin") == "app://chatstats"
    assert "access-control-allow-origin" not in bad.headers


PUBLIC = {"/api/health", "/api/health/live"}  # what the shell polls before it has the token


def test_every_api_route_and_mcp_refuse_a_missing_or_wrong_token(client):
    """Every operation the OpenAPI document lists under /api (bar the public health checks), and /mcp,
    answers 401 without the token or with another one."""
    paths = client.get("/openapi.json").json()["paths"]
    operations = [(method.upper(), path) for path, item in paths.items() if path.startswith("/api/")
                  for method in item if method in ("get", "post", "put", "patch", "delete")]
    operations += [("POST", "/mcp"), ("GET", "/mcp")]
    assert len(operations) > 40
    for method, path in operations:
        if path in PUBLIC:
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {TOKEN}x"}):
            response = client.request(method, url, headers=headers, json={})
            assert response.status_code == 401, (method, path, headers, response.status_code)

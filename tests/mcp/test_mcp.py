"""The MCP server through the SDK's own client: over stdio (`chatstats mcp`) and streamable HTTP (/mcp)."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from backend.config import get_settings
from tests.assistant.conftest import TOKEN, serve  # noqa: F401 - the fixture that starts the API

TOOL_NAMES = {"search_messages", "top_people", "message_stats", "find_person", "list_conversations",
              "get_conversation", "conversation_analysis", "commitments", "year_review"}


def _db() -> sqlite3.Connection:
    conn = sqlite3.connect(get_settings().central_db_path)
    conn.row_factory = sqlite3.Row
    return conn


def _known() -> dict[str, Any]:
    """What the calls below must return, read from central.db directly."""
    with _db() as conn:
        busiest = conn.execute("""
            SELECT c.id AS contact_id, c.display_name AS name, ch.id AS chat_id, count(m.id) AS messages
            FROM chat_participants p JOIN chats ch ON ch.id = p.chat_id AND ch.is_group = 0
            JOIN contacts c ON c.id = p.contact_id
            JOIN messages m ON m.chat_id = ch.id AND m.kind = 'message' AND m.deleted_at IS NULL
            WHERE c.display_name IS NOT NULL GROUP BY c.id ORDER BY messages DESC, c.id LIMIT 1""").fetchone()
        conversation = conn.execute("""SELECT id, message_count FROM conversations WHERE chat_id = ?
                                       ORDER BY last_message_at DESC LIMIT 1""", (busiest["chat_id"],)).fetchone()
        year = conn.execute("""SELECT strftime('%Y', max(sent_at) / 1000, 'unixepoch') FROM messages""").fetchone()[0]
    return {**dict(busiest), "conversation_id": conversation["id"], "conversation_messages": conversation[
        "message_count"], "year": int(year)}


def _calls(known: dict[str, Any]) -> dict[str, dict[str, Any]]:
    first = known["name"].split()[0]
    return {
        "find_person": {"name": known["name"]},
        "search_messages": {"query": "dinner", "limit": 5},
        "top_people": {"period": "all", "limit": 3},
        "message_stats": {"person": known["name"], "period": "all"},
        "list_conversations": {"person": first, "limit": 3},
        "get_conversation": {"id": known["conversation_id"]},
        "conversation_analysis": {"id": known["conversation_id"]},
        "commitments": {"status": "all"},
        "year_review": {"year": known["year"]},
    }


async def _exercise(client: Client, known: dict[str, Any]) -> dict[str, Any]:
    listed = await client.list_tools()
    assert {t.name for t in listed.tools} == TOOL_NAMES
    assert all(t.annotations and t.annotations.read_only_hint for t in listed.tools)
    out: dict[str, Any] = {}
    for name, arguments in _calls(known).items():
        result = await client.call_tool(name, arguments)
        assert not result.is_error, (name, result.content)
        out[name] = result.structured_content
        assert json.loads(result.content[0].text) == result.structured_content
    failed = await client.call_tool("get_conversation", {"id": 987654})
    assert failed.is_error and "987654" in failed.content[0].text
    return out


def _check(out: dict[str, Any], known: dict[str, Any]) -> None:
    assert out["find_person"]["matches"][0]["contact_id"] == known["contact_id"]
    assert out["message_stats"]["messages"] == known["messages"]
    assert out["top_people"]["people"][0]["contact_id"] == known["contact_id"]
    assert out["top_people"]["people"][0]["messages"] == known["messages"]
    got = out["get_conversation"]
    assert got["conversation_id"] == known["conversation_id"] and len(got["messages"]) == known["conversation_messages"]
    assert out["year_review"]["year"] == known["year"]


def test_mcp_over_streamable_http_lists_and_calls_every_tool_behind_the_token(serve, imported):
    known = _known()
    client = serve()
    url = f"{client.base_url}/mcp"

    async def run() -> dict[str, Any]:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as http, \
                Client(streamable_http_client(url, http_client=http)) as mcp:
            return await _exercise(mcp, known)

    _check(anyio.run(run), known)
    refused = httpx.post(url, headers={"Authorization": "Bearer wrong-token", "Accept": "application/json"},
                         json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
    assert httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).status_code == 401

    async def wrong_token() -> None:
        async with httpx2.AsyncClient(headers={"Authorization": "Bearer nope"}) as http, \
                Client(streamable_http_client(url, http_client=http)) as mcp:
            await mcp.list_tools()

    with pytest.raises(Exception, match="unhandled errors") as refused_by_sdk:  # the SDK's task group
        anyio.run(wrong_token)
    assert "Server returned an error response" in repr(refused_by_sdk.value)


def test_mcp_over_stdio_lists_and_calls_every_tool(imported):
    known = _known()
    chatstats = Path(sys.executable).with_name("chatstats")
    env = {**os.environ, "CHATSTATS_DATA_DIR": str(get_settings().data_dir), "CHATSTATS_LIVE_SYNC": "false"}
    params = StdioServerParameters(command=str(chatstats), args=["mcp"], env=env)

    async def run() -> dict[str, Any]:
        async with Client(params) as mcp:
            return await _exercise(mcp, known)

    _check(anyio.run(run), known)


def test_the_privacy_setting_reaches_the_stdio_server(imported):
    known = _known()
    chatstats = Path(sys.executable).with_name("chatstats")
    env = {**os.environ, "CHATSTATS_DATA_DIR": str(get_settings().data_dir)}
    params = StdioServerParameters(command=str(chatstats), args=["mcp", "--privacy", "aggregate"], env=env)

    async def run() -> Any:
        async with Client(params) as mcp:
            return (await mcp.call_tool("get_conversation", {"id": known["conversation_id"]})).structured_content

    result = anyio.run(run)
    assert len(result["messages"]) == known["conversation_messages"]
    assert all(m["text"] is None for m in result["messages"]) and all(c["text"] is None for c in result["citations"])

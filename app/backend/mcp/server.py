"""Eve's tools as an MCP server, with the official `mcp` SDK (low-level Server: the tools' own pydantic JSON
Schemas are what clients see). Read-only; every result passes the privacy setting.

    server = build_server(engine, privacy="aggregate")
    await run_stdio(server)                       # `chatstats mcp`
    http = HttpMcp(server)                        # an ASGI app for /mcp (mount.py puts it on the API)
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel.server import Server
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from sqlalchemy import Engine

from backend import __version__
from backend.errors import BackendError
from backend.tools.privacy import Privacy
from backend.tools.registry import TOOLS, call_tool

log = logging.getLogger(__name__)
SERVER_NAME = "chatstats"
INSTRUCTIONS = ("Read-only tools over the user's Apple Messages history in ChatStats: search messages, find people, "
                "message statistics, conversations and their analyses, promises, a year in review. Results cite "
                "message and conversation ids.")


def _tools() -> list[types.Tool]:
    return [types.Tool(name=t.name, description=t.description, input_schema=t.parameters(),
                       annotations=types.ToolAnnotations(read_only_hint=True, open_world_hint=False))
            for t in TOOLS.values()]


def build_server(engine: Engine, *, privacy: Privacy) -> Server[Any]:
    async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=_tools())

    async def call(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        name, arguments = params.name, dict(params.arguments or {})
        try:
            result = await anyio.to_thread.run_sync(lambda: call_tool(engine, name, arguments, privacy=privacy))
        except BackendError as exc:
            log.info("MCP tool %s refused: %s", name, exc.code)
            return types.CallToolResult(content=[types.TextContent(type="text", text=exc.message)], is_error=True,
                                        structured_content={"error": {"code": exc.code, "message": exc.message}})
        text = json.dumps(result, ensure_ascii=False)
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=result)

    def input_schema(name: str) -> dict[str, Any] | None:
        tool = TOOLS.get(name)
        return tool.parameters() if tool else None

    return Server(SERVER_NAME, version=__version__, instructions=INSTRUCTIONS, on_list_tools=list_tools,
                  on_call_tool=call, get_tool_input_schema=input_schema)


async def run_stdio(server: Server[Any]) -> None:
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


class HttpMcp:
    """Streamable HTTP as an ASGI app (stateless: each request stands alone; JSON replies)."""

    def __init__(self, server: Server[Any], *, allowed_hosts: list[str] | None = None) -> None:
        hosts = allowed_hosts or ["127.0.0.1:*", "localhost:*", "[::1]:*"]
        security = TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts,
                                             allowed_origins=[f"http://{h}" for h in hosts])
        self.manager = StreamableHTTPSessionManager(app=server, stateless=True, json_response=True,
                                                    security_settings=security)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.manager.handle_request(scope, receive, send)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with self.manager.run():
            yield

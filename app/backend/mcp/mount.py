"""/mcp on the API without the SDK on the start-up path: the MCP server is imported and built in a thread
when the first /mcp request arrives (the SDK takes ~1.5 s of CPU to import: at start-up that CPU went to
the API's first answers and the workers' start), and that request waits for it.

    mount = McpMount(engine, privacy="full", path="/mcp")
    app.router.routes.append(mount.route)         # at app creation
    async with mount.running(): yield             # in the lifespan
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from sqlalchemy import Engine
from starlette.responses import JSONResponse
from starlette.routing import Route

from backend.tools.privacy import Privacy

READY_WAIT_S = 120.0


class McpMount:
    def __init__(self, engine: Engine, *, privacy: Privacy, path: str = "/mcp") -> None:
        self._engine, self._privacy = engine, privacy
        self._http: Any = None
        self._ready: anyio.Event | None = None  # made in the server's event loop
        self._wanted: anyio.Event | None = None  # set by the first request
        self._failed: str | None = None
        self.route = Route(path, endpoint=self, methods=["GET", "POST", "DELETE"])  # an instance: mounted as ASGI

    def _build(self) -> Any:
        from backend.mcp.server import HttpMcp, build_server  # noqa: PLC0415 - off the start-up path

        return HttpMcp(build_server(self._engine, privacy=self._privacy))

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        stop, ready, wanted = anyio.Event(), anyio.Event(), anyio.Event()
        self._ready, self._wanted = ready, wanted

        async def serve() -> None:
            await wanted.wait()
            try:
                self._http = await anyio.to_thread.run_sync(self._build)
            except Exception as exc:  # noqa: BLE001 - /mcp answers 503 with the reason; the API stays up
                self._failed = f"{type(exc).__name__}: {exc}"
                ready.set()
                return
            async with self._http.running():
                ready.set()
                await stop.wait()

        async with anyio.create_task_group() as group:
            group.start_soon(serve)
            try:
                yield
            finally:
                stop.set()
                if not wanted.is_set():  # never asked for: nothing to shut down
                    group.cancel_scope.cancel()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._ready is not None and self._wanted is not None:
            self._wanted.set()
            with anyio.move_on_after(READY_WAIT_S):
                await self._ready.wait()
        if self._http is None or self._failed:
            response = JSONResponse({"code": "mcp_unavailable",
                                     "message": f"The MCP server is not available: {self._failed or 'still starting'}"},
                                    status_code=503)
            await response(scope, receive, send)
            return
        await self._http(scope, receive, send)

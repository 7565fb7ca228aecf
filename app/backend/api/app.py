"""FastAPI app factory: security middleware, CORS, error handlers, routers under /api."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from backend import __version__
from backend.admin.router import router as admin_router
from backend.analysis.coverage.router import router as analysis_coverage_router
from backend.analysis.runs.router import router as analysis_runs_router
from backend.analysis.streaming import router as analysis_streaming_router
from backend.api.docs import mount_docs
from backend.api.errors import install_error_handlers
from backend.api.openapi import install_openapi
from backend.api.security import LOOPBACK_NAMES, MCP_PATH, LoopbackSecurityMiddleware, new_token
from backend.api.startup import prepare_database
from backend.assistant.router import router as assistant_router
from backend.attachments.router import router as attachments_router
from backend.chats.router import router as chats_router
from backend.commitments.router import router as commitments_router
from backend.config import Settings, get_settings
from backend.contacts.router import router as contacts_router
from backend.conversations.router import router as conversations_router
from backend.conversations.sealing import seal_due
from backend.db.clock import now_ms
from backend.db.engine import get_engine
from backend.events.bus import OutboxRelay
from backend.health.router import router as health_router
from backend.insights.router import router as insights_router
from backend.live.hub import MessageHub
from backend.live.router import router as live_router
from backend.mcp.mount import McpMount
from backend.messages.router import router as messages_router
from backend.search.router import router as search_router
from backend.settings.router import router as settings_router
from backend.sync.runtime import start_live_sync
from backend.webapp.static import mount_renderer

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, *, token: str | None = None) -> FastAPI:
    settings = settings or get_settings()
    token = token or settings.api_token or new_token()
    engine = get_engine(settings.central_db_path)

    hub = MessageHub()
    mcp_mount = McpMount(engine, privacy=settings.tools_privacy, path=MCP_PATH)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        prepare_database(engine)  # MigrationFailed propagates: uvicorn refuses to start
        app.state.relay = OutboxRelay(engine, settings.redis_url).start() if settings.redis_url else None
        seal_due(engine, now_ms=now_ms(), gap_ms=settings.conversation_gap_ms)  # whatever fell due while we were off
        app.state.watcher = start_live_sync(settings, engine, hub)
        if app.state.relay is not None:
            app.state.relay.wake()
            if app.state.watcher is not None:
                app.state.watcher.sync.after_commit.append(app.state.relay.wake)
        log.info("API ready (central.db %s)", settings.central_db_path)
        try:
            async with mcp_mount.running():
                yield
        finally:
            if app.state.watcher is not None:
                app.state.watcher.stop()
            if app.state.relay is not None:
                app.state.relay.stop()

    app = FastAPI(
        title="ChatStats",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # served from a package's files below, not from a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    mount_docs(app, openapi_url="/openapi.json")
    app.state.settings = settings
    app.state.engine = engine
    app.state.token = token
    app.state.hub = hub
    app.state.watcher = None
    app.state.relay = None

    install_error_handlers(app)
    app.include_router(health_router, prefix="/api")
    app.include_router(settings_router, prefix="/api")
    app.include_router(chats_router, prefix="/api")
    app.include_router(conversations_router, prefix="/api")
    app.include_router(messages_router, prefix="/api")
    app.include_router(attachments_router, prefix="/api")
    app.include_router(contacts_router, prefix="/api")
    app.include_router(live_router, prefix="/api")
    app.include_router(analysis_streaming_router, prefix="/api")
    app.include_router(analysis_runs_router, prefix="/api")
    app.include_router(analysis_coverage_router, prefix="/api")
    app.include_router(admin_router, prefix="/api")
    app.include_router(insights_router, prefix="/api")
    app.include_router(commitments_router, prefix="/api")
    app.include_router(assistant_router, prefix="/api")
    app.include_router(search_router, prefix="/api")
    app.router.routes.append(mcp_mount.route)  # MCP over streamable HTTP, behind the same token
    mount_renderer(app, settings.renderer_dir)
    install_openapi(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        )
    app.add_middleware(LoopbackSecurityMiddleware, token=token, allowed_hosts=LOOPBACK_NAMES)
    return app

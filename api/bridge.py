"""The blob-event bridge: a stateless webhook service (an Azure Function/Container App in
production) that Event Grid calls with BlobCreated events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.middleware import add_request_metrics
from api.routes import events, ops
from api.routes.events import BridgeServices
from vitae.settings import Settings, get_settings
from vitae.stores.blob import BlobStore
from vitae.telemetry import setup_telemetry
from vitae.temporal import connect_temporal


def create_bridge_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    telemetry = setup_telemetry(settings, "bridge")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The blob client is used only to check URLs belong to our account: no I/O.
        blobs = BlobStore.from_settings(settings)
        app.state.bridge = BridgeServices(settings, await connect_temporal(settings), blobs)
        try:
            yield
        finally:
            await blobs.close()

    app = FastAPI(title="Vitae blob-event bridge", version="1", lifespan=lifespan)
    add_request_metrics(app, telemetry.system)
    app.include_router(ops.router)
    app.include_router(events.router)
    return app

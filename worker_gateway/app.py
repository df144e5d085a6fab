"""The worker gateway app: its own process and credentials, in front of the Enrichment Core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.middleware import add_request_metrics
from api.routes import ops
from vitae.enrichment_core import EnrichmentCore
from vitae.settings import Settings, get_settings
from vitae.stores.blob import BlobStore
from vitae.telemetry import setup_telemetry
from vitae.temporal import connect_temporal
from worker_gateway import routes
from worker_gateway.deps import GatewayServices


def create_gateway_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    telemetry = setup_telemetry(settings, "gateway")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        blobs = BlobStore.from_settings(settings)
        core = await EnrichmentCore.open(settings, blobs=blobs, temporal=await connect_temporal(settings))
        app.state.gateway = GatewayServices(core)
        try:
            yield
        finally:
            await core.close()
            await blobs.close()

    app = FastAPI(
        title="Vitae worker gateway",
        version="1",
        summary="Lease enrichment work, heartbeat, and report results.",
        lifespan=lifespan,
    )
    add_request_metrics(app, telemetry.system)
    app.include_router(ops.router)
    app.include_router(routes.router)
    return app

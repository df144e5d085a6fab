"""The tenant-facing API: upload resumes, poll jobs, read and search results."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from api.deps import ApiServices
from api.middleware import add_request_metrics
from api.routes import cvs, enrichment, jobs, ops, resumes
from vitae.enrichment_core import EnrichmentCore
from vitae.settings import Settings, get_settings
from vitae.stores.blob import BlobStore
from vitae.stores.cosmos import ResultStore
from vitae.stores.job_events import JobFinishedListener
from vitae.stores.ledger import Ledger
from vitae.telemetry import setup_telemetry
from vitae.temporal import connect_temporal


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    telemetry = setup_telemetry(settings, "api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ledger = await Ledger.connect(settings.database_url.get_secret_value(), max_size=settings.database_pool_size)
        blobs = BlobStore.from_settings(settings)
        results = await ResultStore.open(settings)
        temporal = await connect_temporal(settings)
        job_events = await JobFinishedListener.start(settings.database_url.get_secret_value())
        event_http = httpx.AsyncClient(timeout=5.0)
        app.state.services = ApiServices(settings, ledger, blobs, results, temporal, telemetry, job_events, event_http)
        app.state.enrichment = await EnrichmentCore.open(settings, blobs=blobs, temporal=temporal)
        try:
            yield
        finally:
            await app.state.enrichment.close()
            await job_events.close()
            await event_http.aclose()
            await results.close()
            await blobs.close()
            await ledger.close()

    app = FastAPI(
        title="Vitae API",
        version="1",
        summary="Upload resumes; get structured, versioned results.",
        lifespan=lifespan,
    )
    add_request_metrics(app, telemetry.system)
    app.include_router(ops.router)
    app.include_router(resumes.router)
    app.include_router(jobs.router)
    app.include_router(cvs.router)
    app.include_router(enrichment.router)
    return app

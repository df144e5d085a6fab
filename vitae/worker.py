"""The Temporal worker process: runs ``ResumeInferenceWorkflow`` and its activities.

Long-lived clients (blob, Cosmos, PostgreSQL pool, the production model) are created once
per process and shared by all activity executions. The model is loaded before the worker
polls for work, so the first resume is not slow.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio.worker import Worker

from activities.blob_storage import BlobActivities
from activities.cosmos_results import CosmosActivities
from activities.enrichment_store import EnrichmentStoreActivities
from activities.extraction_pool import ExtractionPool
from activities.job_ledger import LedgerActivities
from activities.model_inference import InferenceActivities
from activities.text_cache import TextCache
from model_runtime.registry import ProductionModel, registry_from_settings
from vitae.ops_server import ops_server
from vitae.pdf_text import ExtractionLimits
from vitae.settings import Settings
from vitae.stores.blob import BlobStore
from vitae.stores.cosmos import ResultStore
from vitae.stores.enrichment_runs import EnrichmentRuns
from vitae.stores.ledger import Ledger
from vitae.telemetry import setup_telemetry
from vitae.temporal import connect_temporal
from workflows.enrichment import EnrichmentRunWorkflow, EnrichmentSubjectWorkflow
from workflows.resume_inference import ResumeInferenceWorkflow
from workflows.sandbox import workflow_runner

log = logging.getLogger("vitae.worker")


async def run_worker(settings: Settings, port: int) -> None:
    telemetry = setup_telemetry(settings, "worker")
    client = await connect_temporal(settings)
    ledger = await Ledger.connect(settings.database_url.get_secret_value(), max_size=settings.database_pool_size)
    results = await ResultStore.open(settings)
    blobs = BlobStore.from_settings(settings)
    enrichment_runs = await EnrichmentRuns.connect(settings.database_url.get_secret_value(), max_size=4)
    model = ProductionModel(registry_from_settings(settings), settings.model_alias, settings.model_refresh_seconds)
    predictor = await asyncio.to_thread(model.get)
    log.info("serving model %s version %s", predictor.name, predictor.version)

    extractor = ExtractionPool(settings.extract_processes)
    await extractor.warm_up()
    blob_activities = BlobActivities(
        blobs,
        artifacts_container=settings.artifacts_container,
        limits=ExtractionLimits.from_settings(settings),
        texts=TextCache(),
        extractor=extractor,
    )
    ledger_activities = LedgerActivities(ledger, blobs, telemetry.system)
    activities: list[Callable[..., Any]] = [
        ledger_activities.open_job,
        ledger_activities.finalize_job,
        blob_activities.extract_text,
        blob_activities.write_artifacts,
        InferenceActivities(model, blob_activities.read_text, telemetry.model).run_inference,
        CosmosActivities(results).persist_result,
        EnrichmentStoreActivities(enrichment_runs).record_run,
    ]
    worker = Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=[ResumeInferenceWorkflow, EnrichmentSubjectWorkflow, EnrichmentRunWorkflow],
        activities=activities,
        workflow_runner=workflow_runner(),
        max_concurrent_activities=16,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )
    server = ops_server(port, "vitae worker")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def _stop_on_signal() -> None:
        await stop.wait()
        log.info("shutting down: finishing in-flight activities")
        server.should_exit = True
        await worker.shutdown()

    try:
        await asyncio.gather(worker.run(), server.serve(), _stop_on_signal())
    finally:
        extractor.close()
        await results.close()
        await blobs.close()
        await enrichment_runs.close()
        await ledger.close()

"""The Temporal worker process: runs ``ResumeInferenceWorkflow`` and its activities.

Long-lived clients (blob, Cosmos, PostgreSQL pool, the model's scorer) are created once
per process and shared by all activity executions. The scorer is ready before the worker
polls for work, so the first resume is not slow: the production model is loaded in-process
(Option A, default), or the scoring endpoint answers its readiness probe (Option B,
``VITAE_MODEL_SERVING=endpoint``).
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
from activities.enrichment_maintenance import maintenance_activities, setup_maintenance_schedules
from activities.enrichment_store import EnrichmentStoreActivities
from activities.extraction_pool import ExtractionPool
from activities.job_ledger import LedgerActivities
from activities.model_inference import InferenceActivities
from activities.run_workflows import RunWorkflowActivities
from activities.text_cache import TextCache
from model_runtime.scoring import scorer_from_settings
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
from workflows.enrichment_maintenance import EnrichmentMaintenanceWorkflow
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
    scorer = scorer_from_settings(settings)
    log.info("model served by %s", await scorer.warm_up())

    extractor = ExtractionPool(settings.extract_processes)
    await extractor.warm_up()
    blob_activities = BlobActivities(
        blobs,
        artifacts_container=settings.artifacts_container,
        limits=ExtractionLimits.from_settings(settings),
        texts=TextCache(),
        extractor=extractor,
        job_finished=ledger.job_finished,
    )
    ledger_activities = LedgerActivities(ledger, blobs, telemetry.system)
    activities: list[Callable[..., Any]] = [
        ledger_activities.open_job,
        ledger_activities.finalize_job,
        blob_activities.extract_text,
        blob_activities.write_artifacts,
        InferenceActivities(scorer, blob_activities.read_text, telemetry.model).run_inference,
        CosmosActivities(results).persist_result,
        EnrichmentStoreActivities(enrichment_runs).record_run,
        RunWorkflowActivities(client).start_run,
    ]
    maintenance = maintenance_activities(client, enrichment_runs, blobs, settings)
    activities += [maintenance.find_stale_runs, maintenance.expire_runs, maintenance.purge_input_snapshots]
    worker = Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=[
            ResumeInferenceWorkflow,
            EnrichmentSubjectWorkflow,
            EnrichmentRunWorkflow,
            EnrichmentMaintenanceWorkflow,
        ],
        activities=activities,
        workflow_runner=workflow_runner(),
        max_concurrent_activities=16,
        max_cached_workflows=settings.temporal_max_cached_workflows,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )
    await setup_maintenance_schedules(client, settings)
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
        await scorer.aclose()
        await results.close()
        await blobs.close()
        await enrichment_runs.close()
        await ledger.close()

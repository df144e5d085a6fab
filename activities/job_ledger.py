"""Activities that touch the PostgreSQL job ledger."""

from __future__ import annotations

from temporalio import activity

from vitae.contracts import ActivityName, FinalizeJobInput, OpenJobInput, OpenJobResult
from vitae.stores.blob import BlobStore
from vitae.stores.ledger import Ledger
from vitae.telemetry import SystemMetrics


class LedgerActivities:
    def __init__(self, ledger: Ledger, blobs: BlobStore, metrics: SystemMetrics) -> None:
        self._ledger = ledger
        self._blobs = blobs
        self._metrics = metrics

    @activity.defn(name=ActivityName.OPEN_JOB)
    async def open_job(self, inp: OpenJobInput) -> OpenJobResult:
        where = self._blobs.locate(inp.blob_url)
        return await self._ledger.open_job(inp, storage_container=where.container, storage_key=where.name)

    @activity.defn(name=ActivityName.FINALIZE_JOB)
    async def finalize_job(self, inp: FinalizeJobInput) -> None:
        if await self._ledger.finalize_job(inp):
            # Counted only by the call that changed the row, so retries don't double count.
            self._metrics.job_finished(inp.status.value, inp.error_code)

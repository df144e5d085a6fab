"""Activities that keep the ``enrichment_runs`` read model (PostgreSQL) in step with the run workflows."""

from __future__ import annotations

from temporalio import activity

from vitae.enrichment_contracts import EnrichmentActivity, RunSnapshot
from vitae.stores.enrichment_runs import EnrichmentRuns


class EnrichmentStoreActivities:
    def __init__(self, runs: EnrichmentRuns) -> None:
        self._runs = runs

    @activity.defn(name=EnrichmentActivity.RECORD_RUN)
    async def record_run(self, snapshot: RunSnapshot) -> bool:
        # Version-guarded upsert: a retry, or a snapshot overtaken by a newer one, changes nothing.
        return await self._runs.record(snapshot)

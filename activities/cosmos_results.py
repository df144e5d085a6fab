"""Activities that touch Cosmos DB."""

from __future__ import annotations

from temporalio import activity

from vitae.contracts import ActivityName, PersistedResult, ResumeResult
from vitae.resume_document import result_document
from vitae.stores.cosmos import ResultStore


class CosmosActivities:
    def __init__(self, results: ResultStore) -> None:
        self._results = results

    @activity.defn(name=ActivityName.PERSIST_RESULT)
    async def persist_result(self, result: ResumeResult) -> PersistedResult:
        return PersistedResult(cosmos_id=await self._results.upsert_latest(result_document(result)))

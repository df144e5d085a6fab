"""Put results Cosmos lost back, from the immutable ``result.json`` artifacts.

A file's Cosmos document *is* its newest successful job's ``result.json`` (both are built by
``vitae.resume_document.result_document``), and the ledger points at every job's artifacts.
So when the results store loses documents (the local emulator keeps nothing across a
restart; in Azure, a container recreated or restored to an older point) they can be rebuilt
exactly, without running any model again. ``ResultStore.upsert_latest`` keeps the newest job
per file, so a restore racing the pipeline never overwrites a newer result.

``vitae up`` restores when the newest result is missing (one query and one point read
otherwise); ``vitae results restore`` does it on demand.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

from azure.core.exceptions import ResourceNotFoundError

from vitae.stores.blob import BlobStore
from vitae.stores.cosmos import ResultStore
from vitae.stores.ledger import Ledger

log = logging.getLogger(__name__)

PAGE = 200


@dataclass
class RestoreReport:
    files: int = 0  # files with a successful job, each checked once
    restored: int = 0  # documents handed to the store (which keeps a newer job's, if there)
    missing_artifacts: int = 0  # result.json gone from blob storage: nothing to restore from

    def to_json(self) -> dict[str, int]:
        return {"files": self.files, "restored": self.restored, "missing_artifacts": self.missing_artifacts}


async def results_lost(ledger: Ledger, results: ResultStore) -> bool:
    """Whether the newest successful job's result is missing from the results store.

    A store that lost its documents has lost that one too; one that is intact answers with
    a single point read, so this is cheap enough to ask on every ``vitae up``.
    """
    newest = await ledger.newest_result()
    return newest is not None and await results.get(newest["tenant_id"], newest["file_id"]) is None


async def restore_results(
    ledger: Ledger, blobs: BlobStore, results: ResultStore, *, concurrency: int = 8
) -> RestoreReport:
    report = RestoreReport()
    limit = asyncio.Semaphore(concurrency)

    async def restore(row: dict[str, str]) -> None:
        async with limit:
            where = blobs.locate(row["result_uri"])
            try:
                document = json.loads(await blobs.download(where.container, where.name))
            except ResourceNotFoundError:
                # Artifacts are never deleted by Vitae; say so rather than fail the rest.
                log.warning("job %s: result artifact is missing; not restored", row["job_id"])
                report.missing_artifacts += 1
                return
            await results.upsert_latest(document)
            report.restored += 1

    after: tuple[str, str] | None = None
    while page := await ledger.latest_results(after, PAGE):
        report.files += len(page)
        await asyncio.gather(*(restore(row) for row in page))
        after = (page[-1]["tenant_id"], page[-1]["file_id"])
    return report

"""Activities of ``EnrichmentMaintenanceWorkflow``: the stale-run sweep and the snapshot purge.

Every step is idempotent, so activity retries and overlapping sweeps are harmless: expiring a
finished run changes nothing (the run workflow ignores the signal), deleting a deleted blob is
a no-op, and ``input_deleted_at`` is only set once.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from vitae.enrichment_contracts import EnrichmentRunInput, RunPolicy, RunSnapshot, RunStatus, run_workflow_id
from vitae.settings import Settings
from vitae.stores.blob import BlobStore
from vitae.stores.enrichment_runs import EnrichmentRuns
from workflows.enrichment import STALE_ERROR_CODE, EnrichmentRunWorkflow, ExpireInput
from workflows.enrichment_maintenance import (
    ExpireRunsInput,
    ExpireRunsResult,
    MaintenanceActivity,
    MaintenanceInput,
    MaintenanceSchedule,
    PurgeInput,
    PurgeResult,
    StaleRunQuery,
    ensure_maintenance_schedules,
    maintenance_schedules,
)

log = logging.getLogger("vitae.enrichment.maintenance")

SNAPSHOT_FILE = "input.json"


class SnapshotBlobs(Protocol):
    """The blob operations the purge needs (faked in tests)."""

    async def list_page(
        self, prefix: str, continuation: str | None, limit: int
    ) -> tuple[list[tuple[str, datetime]], str | None]:
        """One page of (name, last modified) under ``prefix``, and the next page's token."""
        ...

    async def delete(self, name: str) -> bool:
        """Delete a blob; False when it did not exist."""
        ...


class ContainerSnapshotBlobs:
    """``SnapshotBlobs`` on one container of the shared ``BlobStore``."""

    def __init__(self, blobs: BlobStore, container: str) -> None:
        self._blobs = blobs
        self._container = container

    async def list_page(
        self, prefix: str, continuation: str | None, limit: int
    ) -> tuple[list[tuple[str, datetime]], str | None]:
        return await self._blobs.list_page(self._container, prefix, continuation, limit)

    async def delete(self, name: str) -> bool:
        return await self._blobs.delete(self._container, name)


def snapshot_run_id(name: str, prefix: str) -> str | None:
    """``runId`` of ``{prefix}{runId}/input.json``; None for any other blob under the prefix."""
    if not name.startswith(prefix):
        return None
    run_id, _, file = name[len(prefix) :].partition("/")
    return run_id if run_id and file == SNAPSHOT_FILE else None


def _epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _run_input(row: RunSnapshot) -> EnrichmentRunInput:
    """The run workflow's input rebuilt from its row: for a run whose workflow never started."""
    return EnrichmentRunInput(
        run_id=row.run_id,
        enricher_type=row.enricher_type,
        subject_key=row.subject_key,
        job_id=row.job_id,
        user_id=row.user_id,
        cv_version_id=row.cv_version_id,
        input_snapshot_path=row.input_snapshot_path,
        requested_at=row.requested_at,
        policy=RunPolicy(max_attempts=max(1, row.max_attempts)),
    )


class EnrichmentMaintenanceActivities:
    def __init__(self, *, client: Client, runs: EnrichmentRuns, snapshots: SnapshotBlobs, task_queue: str) -> None:
        self._client = client
        self._runs = runs
        self._snapshots = snapshots
        # Where run workflows are served (a never-started run is started there to be expired).
        self._task_queue = task_queue

    @activity.defn(name=MaintenanceActivity.FIND_STALE_RUNS)
    async def find_stale_runs(self, query: StaleRunQuery) -> list[str]:
        return await self._runs.find_stale(
            requested_before=_epoch(query.requested_before),
            stuck_before=_epoch(query.stuck_before),
            enricher_types=query.enricher_types,
            after_run_id=query.after_run_id,
            limit=query.limit,
        )

    @activity.defn(name=MaintenanceActivity.EXPIRE_RUNS)
    async def expire_runs(self, inp: ExpireRunsInput) -> ExpireRunsResult:
        """Signal ``expire`` to each run's workflow, through the run's own state machine.

        Signal-with-start: a running workflow gets the signal; a run whose workflow never
        started (a Pending row left by a failed start) is started just to be expired, and
        records that itself. Only a workflow that has *closed* while its row still reads
        unfinished is reconciled from Temporal's side (``_reconcile``).
        """
        result = ExpireRunsResult()
        rows = await self._runs.get_many(inp.run_ids)
        for run_id in inp.run_ids:
            activity.heartbeat(run_id)
            row = rows.get(run_id)
            if row is None or row.status.terminal:
                result.skipped += 1
                continue
            try:
                await self._client.start_workflow(
                    EnrichmentRunWorkflow.run,
                    _run_input(row),
                    id=run_workflow_id(run_id),
                    task_queue=self._task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    start_signal="expire",
                    start_signal_args=[ExpireInput(reason=inp.reason)],
                )
                result.signalled += 1
            except WorkflowAlreadyStartedError:
                if await self._reconcile(row):
                    result.reconciled += 1
                else:
                    result.skipped += 1
        log.info("stale runs: %s", result)
        return result

    async def _reconcile(self, row: RunSnapshot) -> bool:
        """The run's workflow has closed but its row is unfinished: bring the row up to it.

        Completed: its result is its final snapshot. Terminated (by an operator), failed or
        timed out: it will never record again, so the row is closed as Expired. Either way
        the write is version-guarded and one version above the row, so it lands exactly once.
        """
        handle = self._client.get_workflow_handle_for(EnrichmentRunWorkflow.run, run_workflow_id(row.run_id))
        status = (await handle.describe()).status
        if status == WorkflowExecutionStatus.RUNNING:
            return False  # started meanwhile; the next sweep signals it
        final: RunSnapshot | None = None
        if status == WorkflowExecutionStatus.COMPLETED:
            final = await handle.result()
        if final is None or not final.status.terminal:
            final = replace(
                row,
                status=RunStatus.EXPIRED,
                lease_token=None,
                finished_at=datetime.now(UTC),
                error_code=STALE_ERROR_CODE,
                error_message=f"run workflow closed as {status.name if status else 'unknown'}",
            )
        # A workflow started again under a reused id (after Temporal's retention dropped the
        # old one) counts its versions from 1 again: stay above what the row holds.
        return await self._runs.record(replace(final, state_version=max(final.state_version, row.state_version + 1)))

    @activity.defn(name=MaintenanceActivity.PURGE_SNAPSHOTS)
    async def purge_input_snapshots(self, inp: PurgeInput) -> PurgeResult:
        """One page of snapshots: delete those past retention whose run has finished (or that
        belong to no run), and mark ``input_deleted_at`` on their runs."""
        cutoff = _epoch(inp.older_than)
        items, continuation = await self._snapshots.list_page(inp.prefix, inp.continuation, inp.limit)
        result = PurgeResult(listed=len(items), continuation=continuation)
        old: dict[str, str] = {}
        for name, modified in items:
            run_id = snapshot_run_id(name, inp.prefix)
            if run_id is None:
                continue
            if modified >= cutoff:
                result.kept_recent += 1
            else:
                old[run_id] = name
        rows = await self._runs.get_many(list(old)) if old else {}
        deleted: list[str] = []
        for run_id, name in old.items():
            row = rows.get(run_id)
            if row is not None and not row.status.terminal:
                result.kept_unfinished += 1
                continue
            activity.heartbeat(name)
            await self._snapshots.delete(name)
            deleted.append(run_id)
        result.deleted = len(deleted)
        if deleted:
            await self._runs.mark_inputs_deleted(deleted)
        log.info("snapshot purge page: %s", replace(result, continuation=None))
        return result


# --- wiring (vitae/worker.py) -------------------------------------------------------------


def maintenance_input(settings: Settings) -> MaintenanceInput:
    return MaintenanceInput(
        stale_after_seconds=int(settings.enrichment_stale_run_days * 86400),
        stuck_grace_seconds=int(settings.enrichment_stuck_run_minutes * 60),
        snapshot_retention_seconds=settings.enrichment_snapshot_retention_days * 86400,
    )


def schedules_from_settings(settings: Settings) -> list[MaintenanceSchedule]:
    return maintenance_schedules(
        maintenance_input(settings),
        expire_every=timedelta(minutes=settings.enrichment_expire_every_minutes),
        purge_every=timedelta(hours=settings.enrichment_purge_every_hours),
    )


def maintenance_activities(
    client: Client, runs: EnrichmentRuns, blobs: BlobStore, settings: Settings
) -> EnrichmentMaintenanceActivities:
    return EnrichmentMaintenanceActivities(
        client=client,
        runs=runs,
        snapshots=ContainerSnapshotBlobs(blobs, settings.artifacts_container),
        task_queue=settings.temporal_task_queue,
    )


async def setup_maintenance_schedules(client: Client, settings: Settings) -> list[str]:
    """Create or update the maintenance schedules (when enabled); called at worker start."""
    if not settings.enrichment_maintenance_schedules:
        return []
    outcome = await ensure_maintenance_schedules(
        client, schedules_from_settings(settings), task_queue=settings.temporal_task_queue
    )
    log.info("enrichment maintenance schedules: %s", ", ".join(outcome))
    return outcome

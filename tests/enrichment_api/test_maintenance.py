"""Enrichment maintenance against a Temporal dev server, PostgreSQL and Azurite.

The schedules the worker creates when it starts, and one maintenance execution (started
directly, as the schedule would) cleaning up: unfinished runs past policy end Expired through
their own workflows, snapshots past retention are deleted and marked. Isolated from the other
tests by an enricher type of its own and a blob container of its own.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import pytest_asyncio
from azure.core.exceptions import ResourceNotFoundError
from temporalio.client import Client, ScheduleIntervalSpec
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.enrichment_maintenance import (
    ContainerSnapshotBlobs,
    EnrichmentMaintenanceActivities,
    setup_maintenance_schedules,
)
from tests.enrichment_api.conftest import TASK_QUEUE, Harness, eventually
from vitae.enrichment_contracts import (
    CompleteRequest,
    LeaseRequest,
    RunPolicy,
    RunSnapshot,
    RunStatus,
    run_workflow_id,
    subject_key,
)
from vitae.enrichment_core import CoreError, EnrichmentCore, input_snapshot_name
from vitae.stores.blob import BlobStore
from vitae.stores.enrichment_runs import EnrichmentRuns
from workflows.enrichment import STALE_ERROR_CODE, EnrichmentRunWorkflow
from workflows.enrichment_maintenance import (
    EXPIRE_SCHEDULE_ID,
    PURGE_SCHEDULE_ID,
    EnrichmentMaintenanceWorkflow,
    MaintenanceInput,
    MaintenanceReport,
)
from workflows.sandbox import workflow_runner

pytestmark = pytest.mark.asyncio(loop_scope="session")

MAINTENANCE_QUEUE = "enrichment-maintenance-tests"


async def test_worker_start_creates_the_schedules_and_a_restart_updates_them(harness: Harness) -> None:
    client = harness.core.temporal
    settings = harness.settings
    try:
        first = await setup_maintenance_schedules(client, settings)
        assert first == [f"created:{EXPIRE_SCHEDULE_ID}", f"created:{PURGE_SCHEDULE_ID}"]
        expire = await client.get_schedule_handle(EXPIRE_SCHEDULE_ID).describe()
        purge = await client.get_schedule_handle(PURGE_SCHEDULE_ID).describe()
        action = expire.schedule.action
        assert getattr(action, "workflow", None) == "EnrichmentMaintenanceWorkflow"
        assert getattr(action, "task_queue", None) == settings.temporal_task_queue
        assert expire.schedule.spec.intervals == [ScheduleIntervalSpec(every=timedelta(minutes=15))]
        assert purge.schedule.spec.intervals == [ScheduleIntervalSpec(every=timedelta(hours=24))]

        # A restart with other settings updates in place, and keeps an operator's pause.
        await client.get_schedule_handle(PURGE_SCHEDULE_ID).pause(note="investigating")
        changed = settings.model_copy(update={"enrichment_expire_every_minutes": 5.0})
        again = await setup_maintenance_schedules(client, changed)
        assert again == [f"updated:{EXPIRE_SCHEDULE_ID}", f"updated:{PURGE_SCHEDULE_ID}"]
        expire = await client.get_schedule_handle(EXPIRE_SCHEDULE_ID).describe()
        assert expire.schedule.spec.intervals == [ScheduleIntervalSpec(every=timedelta(minutes=5))]
        assert (await client.get_schedule_handle(PURGE_SCHEDULE_ID).describe()).schedule.state.paused
        ids = {s.id async for s in await client.list_schedules()}
        assert {EXPIRE_SCHEDULE_ID, PURGE_SCHEDULE_ID} <= ids

        disabled = changed.model_copy(update={"enrichment_maintenance_schedules": False})
        assert await setup_maintenance_schedules(client, disabled) == []
    finally:
        # Nothing of this session should run on the schedule later.
        for schedule_id in (EXPIRE_SCHEDULE_ID, PURGE_SCHEDULE_ID):
            with contextlib.suppress(RPCError):
                await client.get_schedule_handle(schedule_id).delete()


@pytest_asyncio.fixture(loop_scope="session")
async def isolated(harness: Harness, pool: asyncpg.Pool, blobs: BlobStore) -> AsyncIterator[tuple[EnrichmentCore, str]]:
    """A Core writing to a container of its own, and a worker serving the maintenance workflow."""
    container = f"maint-{uuid.uuid4().hex[:12]}"
    await blobs.ensure_containers(container)
    core = EnrichmentCore(
        pool=pool,
        blobs=blobs,
        temporal=harness.core.temporal,
        container=container,
        task_queue=TASK_QUEUE,
        policy=RunPolicy(lease_ttl_seconds=60),
    )
    activities = EnrichmentMaintenanceActivities(
        client=core.temporal,
        runs=EnrichmentRuns(pool),
        snapshots=ContainerSnapshotBlobs(blobs, container),
        task_queue=TASK_QUEUE,
    )
    async with Worker(
        core.temporal,
        task_queue=MAINTENANCE_QUEUE,
        workflows=[EnrichmentMaintenanceWorkflow],
        activities=[activities.find_stale_runs, activities.expire_runs, activities.purge_input_snapshots],
        workflow_runner=workflow_runner(),
    ):
        yield core, container


async def _maintain(client: Client, inp: MaintenanceInput) -> MaintenanceReport:
    return await client.execute_workflow(
        EnrichmentMaintenanceWorkflow.run, inp, id=f"maintenance-test-{uuid.uuid4().hex}", task_queue=MAINTENANCE_QUEUE
    )


async def _status(core: EnrichmentCore, run_id: str) -> RunStatus | None:
    run = await core.runs.get(run_id)
    return run.status if run else None


async def test_maintenance_expires_stale_runs_and_purges_old_snapshots(
    harness: Harness, isolated: tuple[EnrichmentCore, str]
) -> None:
    core, container = isolated
    client = core.temporal
    tenant, user, enricher = "acme", f"user-{uuid.uuid4().hex[:8]}", harness.enricher
    cv = (await core.ingest_cv(tenant, user, "html", "<p>Jane Doe, Python developer</p>")).cv

    async def new_run(job: str) -> str:
        created = await core.create_run(
            tenant,
            enricher_type=enricher,
            job_id=job,
            user_id=user,
            cv_version_id=cv.cv_version_id,
            job_title="Backend engineer",
            job_description="Python and PostgreSQL.",
        )

        async def queued() -> bool:
            return await _status(core, created.run.run_id) == RunStatus.QUEUED

        await eventually(queued, what="run queued")
        return created.run.run_id

    # 1. A run that finished: its snapshot is only purged, never touched otherwise.
    done = await new_run("job-done")
    run = client.get_workflow_handle_for(EnrichmentRunWorkflow.run, run_workflow_id(done))
    grant = await run.execute_update(EnrichmentRunWorkflow.lease, LeaseRequest("w1"))
    await run.execute_update(EnrichmentRunWorkflow.complete, CompleteRequest(grant.lease_token, 60, "ok"))
    # 2. A run queued past policy, its workflow running.
    stale = await new_run("job-stale")
    # 3. A run whose workflow was terminated by an operator: its row still says queued.
    terminated = await new_run("job-terminated")
    await client.get_workflow_handle(run_workflow_id(terminated)).terminate(reason="operator")
    # 4. A Pending row whose run workflow never started (a failed start), and its snapshot.
    orphan_id = f"run-{uuid.uuid4().hex}"
    orphan = RunSnapshot(
        run_id=orphan_id,
        enricher_type=enricher,
        subject_key=subject_key("job-orphan", user),
        job_id="job-orphan",
        user_id=user,
        status=RunStatus.PENDING,
        state_version=0,
        requested_at=datetime.now(UTC) - timedelta(hours=2),
        cv_version_id=cv.cv_version_id,
        input_snapshot_path=input_snapshot_name(orphan_id),
        max_attempts=3,
    )
    assert await core.runs.record(orphan)
    await core.blobs.upload(container, orphan.input_snapshot_path, b"{}", content_type="application/json")
    # 5. A snapshot of no run at all (the request failed after the snapshot was written).
    stray = input_snapshot_name(f"run-{uuid.uuid4().hex}")
    await core.blobs.upload(container, stray, b"{}", content_type="application/json")
    # Another enricher type's unfinished run: outside this sweep's scope.
    other = replace(orphan, run_id=f"run-{uuid.uuid4().hex}", enricher_type=enricher + "-other")
    await core.runs.record(other)

    # Recent runs are not stale under the default policy.
    quiet = await _maintain(client, MaintenanceInput(purge_snapshots=False, enricher_types=[enricher]))
    assert quiet.stale_found == 1 and quiet.expire.signalled == 1  # only the 2-hour-old Pending row

    async def orphan_expired() -> bool:
        return await _status(core, orphan_id) == RunStatus.EXPIRED

    await eventually(orphan_expired, what="orphan expired by its own (newly started) workflow")
    orphan_row = await core.runs.get(orphan_id)
    assert orphan_row is not None and orphan_row.error_code == STALE_ERROR_CODE
    assert await _status(core, stale) == RunStatus.QUEUED

    # Everything unfinished is past a zero-second policy.
    report = await _maintain(
        client, MaintenanceInput(purge_snapshots=False, stale_after_seconds=0, enricher_types=[enricher])
    )
    assert report.stale_found == 2 and report.expire.signalled == 1 and report.expire.reconciled == 1

    async def stale_expired() -> bool:
        return await _status(core, stale) == RunStatus.EXPIRED

    await eventually(stale_expired, what="stale run expired")
    stale_outcome = await client.get_workflow_handle_for(EnrichmentRunWorkflow.run, run_workflow_id(stale)).result()
    assert stale_outcome.status == RunStatus.EXPIRED and stale_outcome.error_code == STALE_ERROR_CODE
    terminated_row = await core.runs.get(terminated)
    assert terminated_row is not None and terminated_row.status == RunStatus.EXPIRED
    assert "TERMINATED" in (terminated_row.error_message or "")
    assert await _status(core, done) == RunStatus.SUCCEEDED
    assert await _status(core, other.run_id) == RunStatus.PENDING
    # A second sweep finds nothing left to do.
    again = await _maintain(
        client, MaintenanceInput(purge_snapshots=False, stale_after_seconds=0, enricher_types=[enricher])
    )
    assert again.stale_found == 0

    # Retention: the snapshots are "old" under a zero-second retention, except one kept
    # because its run is unfinished (a fresh queued run).
    unfinished = await new_run("job-unfinished")
    purge = await _maintain(
        client, MaintenanceInput(expire_stale_runs=False, snapshot_retention_seconds=0, batch_size=2)
    )
    assert purge.purge.listed == 6 and purge.purge.deleted == 5 and purge.purge.kept_unfinished == 1
    for run_id in (done, stale, terminated, orphan_id):
        with pytest.raises(ResourceNotFoundError):
            await core.blobs.download(container, input_snapshot_name(run_id))
        assert await core.runs.input_deleted_at(run_id) is not None
    with pytest.raises(ResourceNotFoundError):
        await core.blobs.download(container, stray)
    assert await core.blobs.download(container, input_snapshot_name(unfinished))
    assert await core.runs.input_deleted_at(unfinished) is None
    # Idempotent: nothing left to delete.
    repeat = await _maintain(client, MaintenanceInput(expire_stale_runs=False, snapshot_retention_seconds=0))
    assert repeat.purge.deleted == 0 and repeat.purge.listed == 1

    # A rerun of a subject whose latest input is gone says so instead of failing.
    with pytest.raises(CoreError) as raised:
        await core.rerun(tenant, enricher_type=enricher, job_id="job-done", user_id=user)
    assert raised.value.status == 410 and raised.value.code == "INPUT_EXPIRED"

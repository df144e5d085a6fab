"""EnrichmentRunWorkflow's state machine on the time-skipping server, the read model faked.

Leases, heartbeats and queue waits are durable timers; ``env.sleep`` moves the server's clock
(hours take milliseconds), so expiry and offline-worker cases run for real.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.enrichment.conftest import FakeRunStore, eventually
from vitae.enrichment_contracts import (
    CompleteRequest,
    EnrichmentRunInput,
    FailRequest,
    HeartbeatRequest,
    LeaseGrant,
    LeaseRequest,
    RejectionType,
    RunErrorCode,
    RunPolicy,
    RunSnapshot,
    RunStatus,
    SupersedeInput,
    run_workflow_id,
)
from workflows.enrichment import STALE_ERROR_CODE, EnrichmentRunWorkflow, ExpireInput
from workflows.sandbox import workflow_runner

pytestmark = pytest.mark.asyncio(loop_scope="session")

RunHandle = WorkflowHandle[EnrichmentRunWorkflow, RunSnapshot]


class Harness:
    def __init__(self, env: WorkflowEnvironment, task_queue: str, store: FakeRunStore) -> None:
        self.env = env
        self.task_queue = task_queue
        self.store = store

    async def start(self, policy: RunPolicy | None = None) -> RunHandle:
        run_id = uuid.uuid4().hex
        inp = EnrichmentRunInput(
            run_id=run_id,
            enricher_type="compatibility.v1",
            subject_key="job-1:user-1",
            job_id="job-1",
            user_id="user-1",
            cv_version_id="cv-7",
            input_snapshot_path="enrichment-inputs/job-1/user-1/cv-7.json",
            requested_at=datetime.now(UTC),
            policy=policy or RunPolicy(lease_ttl_seconds=60, max_attempts=2),
        )
        handle = await self.env.client.start_workflow(
            EnrichmentRunWorkflow.run,
            inp,
            id=run_workflow_id(run_id),
            task_queue=self.task_queue,
            # Records are local activities: while a test holds one, its workflow task stays
            # open and updates wait for the task's heartbeat (80% of this timeout).
            task_timeout=timedelta(seconds=2),
        )
        await self.settled(handle, RunStatus.QUEUED)
        return handle

    def latest(self, handle: RunHandle) -> RunSnapshot:
        return self.store.rows[handle.id.removeprefix("enrich-run-")]

    async def settled(self, handle: RunHandle, status: RunStatus) -> RunSnapshot:
        """Wait until the read model shows ``status`` (the workflow records it asynchronously)."""
        run_id = handle.id.removeprefix("enrich-run-")
        await eventually(
            lambda: run_id in self.store.rows and self.store.rows[run_id].status == status, what=f"{status} recorded"
        )
        return self.store.rows[run_id]

    async def reaches(self, handle: RunHandle, status: RunStatus) -> None:
        """Wait until the workflow itself is in ``status`` (whatever the read model says)."""
        for _ in range(500):
            if (await handle.query(EnrichmentRunWorkflow.state)).status == status:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"run never reached {status}")

    async def lease(self, handle: RunHandle, worker: str = "worker-a") -> LeaseGrant:
        return await handle.execute_update(EnrichmentRunWorkflow.lease, LeaseRequest(worker_id=worker))

    async def rejected(self, call: object) -> str:
        """Run a doomed update; returns its rejection type and checks nothing was written."""
        writes = len(self.store.writes)
        with pytest.raises(WorkflowUpdateFailedError) as raised:
            await call  # type: ignore[misc]
        cause = raised.value.cause
        assert isinstance(cause, ApplicationError)
        assert len(self.store.writes) == writes, "a rejected update must not write"
        return str(cause.type)


@pytest_asyncio.fixture(loop_scope="session")
async def harness(
    time_skipping_env: WorkflowEnvironment, task_queue: str, fake_store: FakeRunStore
) -> AsyncIterator[Harness]:
    async with Worker(
        time_skipping_env.client,
        task_queue=task_queue,
        workflows=[EnrichmentRunWorkflow],
        activities=[fake_store.record_run],
        workflow_runner=workflow_runner(),
    ):
        yield Harness(time_skipping_env, task_queue, fake_store)


async def test_lease_then_complete_succeeds_and_records_each_step(harness: Harness) -> None:
    handle = await harness.start()
    grant = await harness.lease(handle)
    assert grant.attempt == 1 and grant.cv_version_id == "cv-7"
    assert grant.lease_until - grant.lease_until.replace(microsecond=0) < timedelta(seconds=1)
    # The lease returns only once the read model shows it.
    leased = harness.latest(handle)
    assert leased.status == RunStatus.LEASED and leased.lease_token == grant.lease_token

    done = await handle.execute_update(
        EnrichmentRunWorkflow.complete, CompleteRequest(grant.lease_token, score=87.5, summary="strong match")
    )
    assert done.status == RunStatus.SUCCEEDED and done.score == 87.5
    assert done.lease_token is None  # never handed out again
    outcome = await handle.result()
    assert outcome.status == RunStatus.SUCCEEDED
    assert harness.store.statuses(outcome.run_id) == ["queued", "leased", "succeeded"]
    versions = [w.state_version for w in harness.store.writes]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    assert harness.latest(handle).summary == "strong match"


async def test_lease_expiry_requeues_and_refuses_the_old_token(harness: Harness) -> None:
    handle = await harness.start()
    first = await harness.lease(handle)
    await harness.env.sleep(timedelta(seconds=61))
    requeued = await harness.settled(handle, RunStatus.QUEUED)
    assert requeued.attempt == 1 and requeued.error_code == RunErrorCode.LEASE_EXPIRED
    assert requeued.lease_token is None

    # The worker that lost its lease comes back: refused before anything is written.
    late = handle.execute_update(EnrichmentRunWorkflow.complete, CompleteRequest(first.lease_token, 50, "late"))
    assert await harness.rejected(late) == RejectionType.NOT_LEASED

    second = await harness.lease(handle, worker="worker-b")
    assert second.attempt == 2 and second.lease_token != first.lease_token
    # The old token stays dead while a new lease is live.
    stale = handle.execute_update(EnrichmentRunWorkflow.complete, CompleteRequest(first.lease_token, 50, "late"))
    assert await harness.rejected(stale) == RejectionType.WRONG_LEASE
    done = await handle.execute_update(EnrichmentRunWorkflow.complete, CompleteRequest(second.lease_token, 10, "ok"))
    assert done.status == RunStatus.SUCCEEDED and done.worker_id == "worker-b"


async def test_attempts_exhausted_expires_the_run(harness: Harness) -> None:
    handle = await harness.start(RunPolicy(lease_ttl_seconds=60, max_attempts=2))
    harness.store.hold = {RunStatus.EXPIRED}
    for _ in range(2):
        grant = await harness.lease(handle)
        await harness.env.sleep(timedelta(seconds=61))
    # Expired (its final write still held, so the run is open): the last worker is refused.
    await harness.reaches(handle, RunStatus.EXPIRED)
    late = handle.execute_update(EnrichmentRunWorkflow.complete, CompleteRequest(grant.lease_token, 50, "late"))
    assert await harness.rejected(late) == RejectionType.NOT_LEASED
    again = handle.execute_update(EnrichmentRunWorkflow.lease, LeaseRequest("worker-c"))
    assert await harness.rejected(again) == RejectionType.NOT_QUEUED
    harness.store.release.set()
    outcome = await handle.result()
    assert outcome.status == RunStatus.EXPIRED and outcome.attempt == 2
    assert outcome.error_code == RunErrorCode.LEASE_EXPIRED
    assert harness.store.statuses(outcome.run_id) == ["queued", "leased", "queued", "leased", "expired"]


async def test_offline_worker_leases_days_later(harness: Harness) -> None:
    handle = await harness.start()
    await harness.env.sleep(timedelta(days=3))
    assert (await handle.query(EnrichmentRunWorkflow.state)).status == RunStatus.QUEUED
    grant = await harness.lease(handle, worker="laptop")
    done = await handle.execute_update(EnrichmentRunWorkflow.complete, CompleteRequest(grant.lease_token, 42, "fine"))
    assert done.status == RunStatus.SUCCEEDED and done.attempt == 1


async def test_heartbeat_keeps_the_lease_past_its_first_ttl(harness: Harness) -> None:
    handle = await harness.start(RunPolicy(lease_ttl_seconds=60, max_attempts=1))
    grant = await harness.lease(handle)
    await harness.env.sleep(timedelta(seconds=40))
    extended = await handle.execute_update(EnrichmentRunWorkflow.heartbeat, HeartbeatRequest(grant.lease_token))
    assert extended.lease_until > grant.lease_until and extended.lease_token == grant.lease_token
    assert harness.latest(handle).lease_until == extended.lease_until
    await harness.env.sleep(timedelta(seconds=40))  # 80 s after the lease began
    assert (await handle.query(EnrichmentRunWorkflow.state)).status == RunStatus.LEASED
    wrong = handle.execute_update(EnrichmentRunWorkflow.heartbeat, HeartbeatRequest("not-the-token"))
    assert await harness.rejected(wrong) == RejectionType.WRONG_LEASE
    done = await handle.execute_update(EnrichmentRunWorkflow.complete, CompleteRequest(grant.lease_token, 99, "ok"))
    assert done.status == RunStatus.SUCCEEDED

    # Without another heartbeat the extended lease lapses too (max_attempts=1: the run expires).
    other = await harness.start(RunPolicy(lease_ttl_seconds=60, max_attempts=1))
    lease = await harness.lease(other)
    await other.execute_update(EnrichmentRunWorkflow.heartbeat, HeartbeatRequest(lease.lease_token))
    await harness.env.sleep(timedelta(seconds=61))
    assert (await other.result()).status == RunStatus.EXPIRED


async def test_validators_refuse_bad_completions_without_writing(harness: Harness) -> None:
    handle = await harness.start()
    grant = await harness.lease(handle)
    assert (
        await harness.rejected(handle.execute_update(EnrichmentRunWorkflow.complete, CompleteRequest("x", 50, "s")))
        == RejectionType.WRONG_LEASE
    )
    assert (
        await harness.rejected(
            handle.execute_update(EnrichmentRunWorkflow.complete, CompleteRequest(grant.lease_token, 101, "s"))
        )
        == RejectionType.INVALID_RESULT
    )
    assert (
        await harness.rejected(handle.execute_update(EnrichmentRunWorkflow.lease, LeaseRequest("worker-b")))
        == RejectionType.NOT_QUEUED
    )
    assert (await handle.query(EnrichmentRunWorkflow.state)).status == RunStatus.LEASED

    # Superseded while leased: the worker's result is stale and refused. (The superseded
    # write is held, so the run is still open when the completion arrives.)
    harness.store.hold = {RunStatus.SUPERSEDED}
    await handle.signal(EnrichmentRunWorkflow.supersede, SupersedeInput(by_run_id="newer"))
    await harness.reaches(handle, RunStatus.SUPERSEDED)
    stale = handle.execute_update(EnrichmentRunWorkflow.complete, CompleteRequest(grant.lease_token, 50, "stale"))
    assert await harness.rejected(stale) == RejectionType.NOT_LEASED
    harness.store.release.set()
    superseded = await handle.result()
    assert superseded.status == RunStatus.SUPERSEDED and superseded.superseded_by == "newer"
    assert harness.latest(handle).status == RunStatus.SUPERSEDED


async def test_superseded_queued_run_cannot_be_leased(harness: Harness) -> None:
    handle = await harness.start()
    await handle.signal(EnrichmentRunWorkflow.supersede, SupersedeInput(by_run_id="newer"))
    await harness.settled(handle, RunStatus.SUPERSEDED)
    outcome = await handle.result()
    assert outcome.error_code == RunErrorCode.SUPERSEDED
    # A closed run refuses everything.
    with pytest.raises(RPCError):  # the workflow is closed: no validator left to ask
        await harness.lease(handle)


async def test_retryable_failure_requeues_until_attempts_run_out(harness: Harness) -> None:
    handle = await harness.start(RunPolicy(lease_ttl_seconds=60, max_attempts=2))
    first = await harness.lease(handle)
    requeued = await handle.execute_update(
        EnrichmentRunWorkflow.fail, FailRequest(first.lease_token, "MODEL_TIMEOUT", "slow", retryable=True)
    )
    assert requeued.status == RunStatus.QUEUED and requeued.error_code == "MODEL_TIMEOUT"
    second = await harness.lease(handle)
    failed = await handle.execute_update(
        EnrichmentRunWorkflow.fail, FailRequest(second.lease_token, "MODEL_TIMEOUT", "slow", retryable=True)
    )
    assert failed.status == RunStatus.FAILED
    assert (await handle.result()).status == RunStatus.FAILED


async def test_queue_ttl_expires_an_unleased_run(harness: Harness) -> None:
    handle = await harness.start(RunPolicy(lease_ttl_seconds=60, max_attempts=2, queue_ttl_seconds=3600))
    await harness.env.sleep(timedelta(minutes=59))
    assert (await handle.query(EnrichmentRunWorkflow.state)).status == RunStatus.QUEUED
    await harness.env.sleep(timedelta(minutes=2))
    outcome = await handle.result()
    assert outcome.status == RunStatus.EXPIRED and outcome.error_code == RunErrorCode.QUEUE_EXPIRED


async def test_expire_signal_ends_a_leased_run_and_refuses_its_result(harness: Harness) -> None:
    handle = await harness.start()
    grant = await harness.lease(handle)
    await handle.signal(EnrichmentRunWorkflow.expire, ExpireInput(reason="stuck past policy"))
    outcome = await handle.result()
    assert outcome.status == RunStatus.EXPIRED and outcome.error_code == STALE_ERROR_CODE
    assert outcome.error_message == "stuck past policy" and outcome.finished_at is not None
    assert harness.latest(handle).status == RunStatus.EXPIRED
    with pytest.raises(RPCError):  # closed: the late result has nowhere to go
        await handle.execute_update(EnrichmentRunWorkflow.complete, CompleteRequest(grant.lease_token, 50, "late"))


async def test_expire_signal_leaves_a_finished_outcome_alone(harness: Harness) -> None:
    handle = await harness.start()
    # Keep the run open after it succeeds, so the signal reaches a finished (not closed) run.
    harness.store.hold.add(RunStatus.SUCCEEDED)
    grant = await harness.lease(handle)
    completing = asyncio.create_task(
        handle.execute_update(EnrichmentRunWorkflow.complete, CompleteRequest(grant.lease_token, 70, "done"))
    )
    await harness.reaches(handle, RunStatus.SUCCEEDED)
    await handle.signal(EnrichmentRunWorkflow.expire, ExpireInput(reason="late sweep"))
    harness.store.release.set()
    await completing
    outcome = await handle.result()
    assert outcome.status == RunStatus.SUCCEEDED and outcome.score == 70 and outcome.error_code is None

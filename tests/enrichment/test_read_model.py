"""The ``enrichment_runs`` read model on a real PostgreSQL, alone and driven by the workflows.

PostgreSQL is the stack's private cluster (``vitae.stack.up`` with infra only) with the real
migrations; the workflow tests use a Temporal dev server and the real record activity.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from activities.enrichment_store import EnrichmentStoreActivities
from activities.run_workflows import RunWorkflowActivities
from vitae.enrichment_contracts import (
    CompleteRequest,
    HeartbeatRequest,
    LeaseRequest,
    RequestRunInput,
    RunPolicy,
    RunSnapshot,
    RunStatus,
    subject_key,
    subject_workflow_id,
)
from vitae.stores.enrichment_runs import EnrichmentRuns
from workflows.enrichment import EnrichmentRunWorkflow, EnrichmentSubjectWorkflow, request_enrichment_run
from workflows.sandbox import workflow_runner

pytestmark = pytest.mark.asyncio(loop_scope="session")

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _snapshot(subject: str, *, enricher: str = "compatibility.v1", **overrides: object) -> RunSnapshot:
    run = RunSnapshot(
        run_id=uuid.uuid4().hex,
        enricher_type=enricher,
        subject_key=subject,
        job_id=subject.split(":")[0],
        user_id=subject.split(":")[1],
        status=RunStatus.QUEUED,
        state_version=1,
        requested_at=T0,
        queued_at=T0,
        cv_version_id="cv-1",
        input_snapshot_path="enrichment-inputs/x.json",
        max_attempts=3,
    )
    return replace(run, **overrides)  # type: ignore[arg-type]


def _subject() -> str:
    return subject_key("job-" + uuid.uuid4().hex[:10], "user-1")


async def test_record_never_moves_a_row_backwards(run_store: EnrichmentRuns) -> None:
    queued = _snapshot(_subject())
    assert await run_store.record(queued)
    leased = replace(queued, status=RunStatus.LEASED, state_version=2, attempt=1, lease_token="t", worker_id="w")
    done = replace(leased, status=RunStatus.SUCCEEDED, state_version=3, score=73.0, summary="good", finished_at=T0)
    assert await run_store.record(done)
    # A retried or late write of an older state changes nothing, nor does a repeat of the newest.
    assert not await run_store.record(leased)
    assert not await run_store.record(done)
    assert await run_store.get(queued.run_id) == done
    assert await run_store.get("no-such-run") is None


async def test_history_pages_newest_first(run_store: EnrichmentRuns) -> None:
    subject = _subject()
    runs = [_snapshot(subject, requested_at=T0 + timedelta(minutes=i)) for i in range(5)]
    # Two runs requested at the same instant: run_id breaks the tie, so paging is stable.
    runs.append(_snapshot(subject, requested_at=T0 + timedelta(minutes=4)))
    for run in runs:
        await run_store.record(run)
    await run_store.record(_snapshot(_subject()))  # another subject's run stays out
    await run_store.record(_snapshot(subject, enricher="other.v1"))  # and another enricher's

    seen: list[RunSnapshot] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await run_store.history("compatibility.v1", subject, limit=2, cursor=cursor)
        seen += page.runs
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 3
    expected = sorted(runs, key=lambda r: (r.requested_at, r.run_id), reverse=True)
    assert [r.run_id for r in seen] == [r.run_id for r in expected]
    with pytest.raises(ValueError):
        await run_store.history("compatibility.v1", subject, cursor="not-a-cursor")


async def test_next_queued_lists_oldest_queued_work_per_type(run_store: EnrichmentRuns) -> None:
    enricher = "queued-test." + uuid.uuid4().hex[:6]
    older = _snapshot(_subject(), enricher=enricher, queued_at=T0)
    newer = _snapshot(_subject(), enricher=enricher, queued_at=T0 + timedelta(hours=1))
    leased = _snapshot(_subject(), enricher=enricher, status=RunStatus.LEASED)
    elsewhere = _snapshot(_subject(), enricher=enricher + "-other")
    for run in (newer, older, leased, elsewhere):
        await run_store.record(run)
    assert [r.run_id for r in await run_store.next_queued([enricher])] == [older.run_id, newer.run_id]
    assert [r.run_id for r in await run_store.next_queued([enricher], limit=1)] == [older.run_id]
    both = await run_store.next_queued([enricher, enricher + "-other"])
    assert {r.run_id for r in both} == {older.run_id, newer.run_id, elsewhere.run_id}


async def test_gateway_checks_read_only_what_they_need(run_store: EnrichmentRuns) -> None:
    enricher = "leasable-test." + uuid.uuid4().hex[:6]
    subject = _subject()
    older = _snapshot(subject, enricher=enricher, queued_at=T0)
    newer = _snapshot(subject, enricher=enricher, requested_at=T0 + timedelta(minutes=1), queued_at=T0)
    other = _snapshot(_subject(), enricher=enricher, queued_at=T0 + timedelta(hours=1))
    done = _snapshot(_subject(), enricher=enricher, status=RunStatus.SUCCEEDED)
    for run in (older, newer, other, done):
        await run_store.record(run)
    # Only each subject's latest queued run is offered, oldest first, minus the excluded ones.
    assert await run_store.next_leasable([enricher]) == [newer.run_id, other.run_id]
    assert await run_store.next_leasable([enricher], exclude=[newer.run_id]) == [other.run_id]
    assert await run_store.next_leasable([enricher], limit=1) == [newer.run_id]

    status = await run_store.get_current_status(older.run_id)
    assert status is not None and status.enricher_type == enricher
    assert status.status == RunStatus.QUEUED and not status.is_latest
    status = await run_store.get_current_status(done.run_id)
    assert status is not None and status.status == RunStatus.SUCCEEDED and status.is_latest
    assert await run_store.get_current_status("no-such-run") is None


async def test_pool_without_reset_query_still_rolls_back_open_transactions(postgres_dsn: str) -> None:
    # keep_session skips asyncpg's reset query on release; an abandoned transaction must
    # still not leak into the next user of the connection.
    store = await EnrichmentRuns.connect(postgres_dsn, max_size=1)
    try:
        pool = store._pool
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        await store.close()


@pytest_asyncio.fixture(loop_scope="session")
async def live_client(
    dev_server_env: WorkflowEnvironment, task_queue: str, run_store: EnrichmentRuns
) -> AsyncIterator[Client]:
    async with Worker(
        dev_server_env.client,
        task_queue=task_queue,
        workflows=[EnrichmentSubjectWorkflow, EnrichmentRunWorkflow],
        activities=[
            EnrichmentStoreActivities(run_store).record_run,
            RunWorkflowActivities(dev_server_env.client).start_run,
        ],
        workflow_runner=workflow_runner(),
    ):
        yield dev_server_env.client


async def _matches_workflow(run_store: EnrichmentRuns, handle: WorkflowHandle) -> RunSnapshot:
    """The SQL row equals the workflow's own state (the query hides only the lease token)."""
    state = await handle.query(EnrichmentRunWorkflow.state)
    row = await run_store.get(state.run_id)
    assert row is not None
    assert replace(row, lease_token=None) == state
    return row


async def test_read_model_follows_every_transition(
    live_client: Client, task_queue: str, run_store: EnrichmentRuns
) -> None:
    job = "job-" + uuid.uuid4().hex[:10]
    request = RequestRunInput(
        enricher_type="compatibility.v1",
        job_id=job,
        user_id="user-1",
        cv_version_id="cv-1",
        input_snapshot_path=f"enrichment-inputs/{job}/cv-1.json",
        policy=RunPolicy(lease_ttl_seconds=120, max_attempts=2),
    )
    ref = await request_enrichment_run(live_client, request, task_queue=task_queue)
    assert await run_store.get(ref.run_id) is not None  # written before the request returned
    run = live_client.get_workflow_handle_for(EnrichmentRunWorkflow.run, ref.workflow_id)

    for _ in range(250):  # the run workflow records Queued just after the request returns
        row = await run_store.get(ref.run_id)
        if row is not None and row.status == RunStatus.QUEUED:
            break
        await asyncio.sleep(0.02)
    queued = await _matches_workflow(run_store, run)
    assert queued.state_version == 1

    # Updates return only after their transition is in SQL.
    grant = await run.execute_update(EnrichmentRunWorkflow.lease, LeaseRequest("worker-a"))
    leased = await _matches_workflow(run_store, run)
    assert leased.status == RunStatus.LEASED and leased.lease_token == grant.lease_token
    assert (await run_store.next_queued(["compatibility.v1"], limit=1000)).count(leased) == 0

    beat = await run.execute_update(EnrichmentRunWorkflow.heartbeat, HeartbeatRequest(grant.lease_token))
    extended = await _matches_workflow(run_store, run)
    assert extended.lease_until == beat.lease_until and extended.state_version == leased.state_version + 1

    await run.execute_update(EnrichmentRunWorkflow.complete, CompleteRequest(grant.lease_token, 64.5, "decent"))
    done = await _matches_workflow(run_store, run)
    assert done.status == RunStatus.SUCCEEDED and done.score == 64.5 and done.summary == "decent"
    assert await run.result() == replace(done, lease_token=None)

    # A newer request: the finished run stays Succeeded (nothing to supersede), the new one queues.
    newer = await request_enrichment_run(live_client, replace(request, cv_version_id="cv-2"), task_queue=task_queue)
    assert newer.previous_run_id == ref.run_id
    assert (await run_store.get(ref.run_id)) == done
    # And one more: this time the queued run is superseded, in SQL too.
    newest = await request_enrichment_run(live_client, replace(request, cv_version_id="cv-3"), task_queue=task_queue)
    newer_run = live_client.get_workflow_handle_for(EnrichmentRunWorkflow.run, newer.workflow_id)
    superseded = await newer_run.result()
    assert superseded.status == RunStatus.SUPERSEDED and superseded.superseded_by == newest.run_id
    assert await run_store.get(newer.run_id) == superseded

    page = await run_store.history("compatibility.v1", subject_key(job, "user-1"))
    assert [r.run_id for r in page.runs] == [newest.run_id, newer.run_id, ref.run_id]

    # The histories just produced replay deterministically against the current code.
    replayer = Replayer(workflows=[EnrichmentSubjectWorkflow, EnrichmentRunWorkflow], workflow_runner=workflow_runner())
    subject = live_client.get_workflow_handle(subject_workflow_id("compatibility.v1", subject_key(job, "user-1")))
    for handle in (run, newer_run, subject):
        await replayer.replay_workflow(await handle.fetch_history())

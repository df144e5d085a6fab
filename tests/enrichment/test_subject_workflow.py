"""EnrichmentSubjectWorkflow on a real Temporal dev server, the read model faked.

Update-with-start, concurrent requests and concurrent leases need the real server's
semantics (conflict policies, update admission), so these run against ``temporal`` from the
virtualenv rather than the time-skipping server.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.run_workflows import START_TOKEN_MEMO, RunWorkflowActivities
from tests.enrichment.conftest import FakeRunStore, eventually
from vitae.enrichment_contracts import (
    CompleteRequest,
    EnrichmentRunInput,
    EnrichmentSubjectInput,
    LeaseRequest,
    RejectionType,
    RequestRunInput,
    RunPolicy,
    RunRef,
    RunStatus,
    StartRunInput,
    run_workflow_id,
    subject_key,
    subject_workflow_id,
)
from workflows.enrichment import EnrichmentRunWorkflow, EnrichmentSubjectWorkflow, request_enrichment_run
from workflows.sandbox import workflow_runner

pytestmark = pytest.mark.asyncio(loop_scope="session")

ENRICHER = "compatibility.v1"


def _request(job_id: str, **overrides: object) -> RequestRunInput:
    values: dict[str, object] = {
        "enricher_type": ENRICHER,
        "job_id": job_id,
        "user_id": "user-1",
        "cv_version_id": "cv-1",
        "input_snapshot_path": f"enrichment-inputs/{job_id}/user-1/cv-1.json",
    }
    values.update(overrides)
    return RequestRunInput(**values)  # type: ignore[arg-type]


@pytest_asyncio.fixture(loop_scope="session")
async def client(
    dev_server_env: WorkflowEnvironment, task_queue: str, fake_store: FakeRunStore
) -> AsyncIterator[Client]:
    async with Worker(
        dev_server_env.client,
        task_queue=task_queue,
        workflows=[EnrichmentSubjectWorkflow, EnrichmentRunWorkflow],
        activities=[fake_store.record_run, RunWorkflowActivities(dev_server_env.client).start_run],
        workflow_runner=workflow_runner(),
    ):
        yield dev_server_env.client


def _job() -> str:
    return "job-" + uuid.uuid4().hex[:12]


async def _status(client: Client, ref: RunRef) -> RunStatus:
    return (
        await client.get_workflow_handle_for(EnrichmentRunWorkflow.run, ref.workflow_id).query(
            EnrichmentRunWorkflow.state
        )
    ).status


async def test_newer_request_supersedes_the_queued_run(
    client: Client, task_queue: str, fake_store: FakeRunStore
) -> None:
    job = _job()
    first = await request_enrichment_run(client, _request(job), task_queue=task_queue)
    assert first.created and first.previous_run_id is None
    # The row exists (Pending at least) as soon as the request returns.
    assert first.run_id in fake_store.rows

    second = await request_enrichment_run(client, _request(job, cv_version_id="cv-2"), task_queue=task_queue)
    assert second.previous_run_id == first.run_id
    old = await client.get_workflow_handle_for(EnrichmentRunWorkflow.run, first.workflow_id).result()
    assert old.status == RunStatus.SUPERSEDED and old.superseded_by == second.run_id
    await eventually(lambda: fake_store.rows[second.run_id].status == RunStatus.QUEUED)
    assert fake_store.statuses(first.run_id)[0] == "pending"
    assert fake_store.rows[first.run_id].status == RunStatus.SUPERSEDED

    subject = client.get_workflow_handle(subject_workflow_id(ENRICHER, subject_key(job, "user-1")))
    assert await subject.query(EnrichmentSubjectWorkflow.active_run_id) == second.run_id


async def test_superseding_a_leased_run_refuses_its_result(client: Client, task_queue: str) -> None:
    job = _job()
    first = await request_enrichment_run(client, _request(job), task_queue=task_queue)
    run = client.get_workflow_handle_for(EnrichmentRunWorkflow.run, first.workflow_id)
    grant = await run.execute_update(EnrichmentRunWorkflow.lease, LeaseRequest("worker-a"))
    await request_enrichment_run(client, _request(job), task_queue=task_queue)
    await run.result()
    # The run has closed: the stale result has nowhere to go (the validator case, with the
    # run still open, is covered on the time-skipping server).
    with pytest.raises(RPCError):
        await run.execute_update(EnrichmentRunWorkflow.complete, CompleteRequest(grant.lease_token, 80, "stale"))
    assert (await run.query(EnrichmentRunWorkflow.state)).status == RunStatus.SUPERSEDED


async def test_idempotency_key_returns_the_same_run(client: Client, task_queue: str) -> None:
    job = _job()
    first = await request_enrichment_run(client, _request(job, idempotency_key="k1"), task_queue=task_queue)
    again = await request_enrichment_run(client, _request(job, idempotency_key="k1"), task_queue=task_queue)
    assert again.run_id == first.run_id and not again.created
    assert await _status(client, first) == RunStatus.QUEUED


async def test_concurrent_requests_leave_exactly_one_active_run(
    client: Client, task_queue: str, fake_store: FakeRunStore
) -> None:
    job = _job()
    # The subject workflow does not exist yet: every request races to start it.
    refs = await asyncio.gather(
        *(request_enrichment_run(client, _request(job), task_queue=task_queue) for _ in range(8))
    )
    assert len({r.run_id for r in refs}) == 8
    # Serialised: each request superseded exactly the one before it.
    superseded = [r.previous_run_id for r in refs if r.previous_run_id]
    assert len(superseded) == 7 and len(set(superseded)) == 7
    (winner,) = [r for r in refs if r.run_id not in superseded]

    def settled() -> bool:
        rows = [fake_store.rows.get(r.run_id) for r in refs]
        statuses = [row.status for row in rows if row is not None]
        return statuses.count(RunStatus.SUPERSEDED) == 7 and fake_store.rows[winner.run_id].status == RunStatus.QUEUED

    await eventually(settled, what="one queued run, seven superseded")
    subject = client.get_workflow_handle(subject_workflow_id(ENRICHER, subject_key(job, "user-1")))
    assert await subject.query(EnrichmentSubjectWorkflow.active_run_id) == winner.run_id


async def test_concurrent_leases_grant_exactly_one(client: Client, task_queue: str) -> None:
    ref = await request_enrichment_run(client, _request(_job()), task_queue=task_queue)
    run = client.get_workflow_handle_for(EnrichmentRunWorkflow.run, ref.workflow_id)
    results = await asyncio.gather(
        *(run.execute_update(EnrichmentRunWorkflow.lease, LeaseRequest(f"worker-{i}")) for i in range(6)),
        return_exceptions=True,
    )
    grants = [r for r in results if not isinstance(r, BaseException)]
    refusals = [r for r in results if isinstance(r, WorkflowUpdateFailedError)]
    assert len(grants) == 1 and len(refusals) == 5
    assert {getattr(r.cause, "type", None) for r in refusals} == {RejectionType.NOT_QUEUED}
    state = await run.query(EnrichmentRunWorkflow.state)
    (grant,) = grants
    assert state.status == RunStatus.LEASED and state.attempt == 1
    assert state.worker_id == f"worker-{results.index(grant)}"


async def test_request_for_another_subject_is_rejected(client: Client, task_queue: str) -> None:
    job = _job()
    await request_enrichment_run(client, _request(job), task_queue=task_queue)
    subject = client.get_workflow_handle(subject_workflow_id(ENRICHER, subject_key(job, "user-1")))
    with pytest.raises(WorkflowUpdateFailedError) as raised:
        await subject.execute_update(EnrichmentSubjectWorkflow.request_run, _request(job, user_id="someone-else"))
    assert getattr(raised.value.cause, "type", None) == RejectionType.INVALID_REQUEST


async def test_continue_as_new_carries_the_active_run_and_keys(
    client: Client, task_queue: str, fake_store: FakeRunStore
) -> None:
    job = _job()
    key = subject_key(job, "user-1")
    workflow_id = subject_workflow_id(ENRICHER, key)
    # Started by hand with a tiny threshold, so a few requests force continue-as-new.
    first = await client.start_workflow(
        EnrichmentSubjectWorkflow.run,
        EnrichmentSubjectInput(enricher_type=ENRICHER, subject_key=key, continue_as_new_after=2),
        id=workflow_id,
        task_queue=task_queue,
    )
    refs = [
        await request_enrichment_run(client, _request(job, idempotency_key=f"k{i}"), task_queue=task_queue)
        for i in range(5)
    ]
    subject = client.get_workflow_handle(workflow_id)
    first_run = client.get_workflow_handle(workflow_id, run_id=first.result_run_id)
    assert (await first_run.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    assert await subject.query(EnrichmentSubjectWorkflow.active_run_id) == refs[-1].run_id
    # Carried across the continue-as-new: an old key still maps to its run.
    again = await request_enrichment_run(client, _request(job, idempotency_key="k0"), task_queue=task_queue)
    assert again.run_id == refs[0].run_id and not again.created
    # And a new request still supersedes the carried active run.
    newest = await request_enrichment_run(client, _request(job), task_queue=task_queue)
    assert newest.previous_run_id == refs[-1].run_id
    history = [e async for e in subject.fetch_history_events()]
    assert len(history) < 60  # the current run's history only holds the requests since the last continue-as-new


async def test_a_run_history_stays_small(client: Client, task_queue: str) -> None:
    """Request → lease → complete: records are local activities (no activity tasks), so the
    run's whole history is a couple of dozen events, whatever the subject's."""
    ref = await request_enrichment_run(client, _request(_job()), task_queue=task_queue)
    run = client.get_workflow_handle_for(EnrichmentRunWorkflow.run, ref.workflow_id)
    grant = await run.execute_update(EnrichmentRunWorkflow.lease, LeaseRequest("worker-a"))
    await run.execute_update(EnrichmentRunWorkflow.complete, CompleteRequest(grant.lease_token, 70, "ok"))
    await run.result()
    events = [e async for e in run.fetch_history_events()]
    assert len(events) <= 25, len(events)
    kinds = {e.WhichOneof("attributes") for e in events}
    assert "activity_task_scheduled_event_attributes" not in kinds  # local activities only


async def test_a_finished_run_does_not_wake_its_subject(client: Client, task_queue: str) -> None:
    """Runs are started by a local activity, not as children: the subject records one marker
    per request and nothing at all when the run finishes."""
    job = _job()
    ref = await request_enrichment_run(client, _request(job), task_queue=task_queue)
    subject = client.get_workflow_handle(subject_workflow_id(ENRICHER, subject_key(job, "user-1")))
    before = [e async for e in subject.fetch_history_events()]
    run = client.get_workflow_handle_for(EnrichmentRunWorkflow.run, ref.workflow_id)
    grant = await run.execute_update(EnrichmentRunWorkflow.lease, LeaseRequest("worker-a"))
    await run.execute_update(EnrichmentRunWorkflow.complete, CompleteRequest(grant.lease_token, 70, "ok"))
    await run.result()
    after = [e async for e in subject.fetch_history_events()]
    assert len(after) == len(before)
    kinds = {e.WhichOneof("attributes") for e in after}
    assert "start_child_workflow_execution_initiated_event_attributes" not in kinds


async def test_a_run_id_in_use_is_refused(client: Client, task_queue: str) -> None:
    taken = "run-" + uuid.uuid4().hex
    first = await request_enrichment_run(client, _request(_job(), run_id=taken), task_queue=task_queue)
    with pytest.raises(WorkflowUpdateFailedError) as raised:
        await request_enrichment_run(client, _request(_job(), run_id=first.run_id), task_queue=task_queue)
    assert getattr(raised.value.cause, "type", None) == RejectionType.RUN_ID_IN_USE


async def test_starting_a_run_again_is_idempotent(client: Client, task_queue: str) -> None:
    """A retried start (its first answer lost) finds its own workflow and succeeds; another
    request's start with the same run id does not."""
    job = _job()
    run = EnrichmentRunInput(
        run_id="run-" + job,
        enricher_type=ENRICHER,
        subject_key=subject_key(job, "user-1"),
        job_id=job,
        user_id="user-1",
        cv_version_id="cv-1",
        input_snapshot_path="enrichment-inputs/x.json",
        requested_at=datetime.now(UTC),
        policy=RunPolicy(),
    )
    starter = RunWorkflowActivities(client)
    start = StartRunInput(run=run, start_token="update-1", task_queue=task_queue, summary="test run")
    assert await starter.start_run(start)
    assert await starter.start_run(start)
    assert not await starter.start_run(replace(start, start_token="update-2"))
    described = await client.get_workflow_handle(run_workflow_id(run.run_id)).describe()
    assert described.status == WorkflowExecutionStatus.RUNNING
    assert await described.memo_value(START_TOKEN_MEMO) == "update-1"


async def test_an_update_repeated_after_continue_as_new_is_the_same_request(client: Client, task_queue: str) -> None:
    """Temporal deduplicates an Update id only within one execution; the subject remembers the
    ids across continue-as-new, so a client re-sending its Update gets the same run."""
    job = _job()
    key = subject_key(job, "user-1")
    workflow_id = subject_workflow_id(ENRICHER, key)

    async def send(update_id: str) -> RunRef:
        start = WithStartWorkflowOperation(
            EnrichmentSubjectWorkflow.run,
            EnrichmentSubjectInput(enricher_type=ENRICHER, subject_key=key, continue_as_new_after=1),
            id=workflow_id,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            task_queue=task_queue,
        )
        return await client.execute_update_with_start_workflow(
            EnrichmentSubjectWorkflow.request_run, _request(job), start_workflow_operation=start, id=update_id
        )

    first = await send("update-1")

    # One request per execution: the subject continues as new before it takes another.
    async def executions() -> int:
        return len([e async for e in client.list_workflows(f'WorkflowId = "{workflow_id}"')])

    deadline = asyncio.get_running_loop().time() + 10
    while await executions() < 2:
        assert asyncio.get_running_loop().time() < deadline, "the subject did not continue as new"
        await asyncio.sleep(0.05)
    again = await send("update-1")
    assert again.run_id == first.run_id and not again.created
    other = await send("update-2")
    assert other.run_id != first.run_id and other.previous_run_id == first.run_id


async def test_a_steady_stream_of_requests_cannot_postpone_continue_as_new(
    client: Client, task_queue: str, fake_store: FakeRunStore
) -> None:
    """Requests that arrive once the subject is due to continue-as-new are turned away (and
    retried by the client) so the ones in flight drain: each execution stays small."""
    job = _job()
    workflow_id = subject_workflow_id(ENRICHER, subject_key(job, "user-1"))
    await client.start_workflow(
        EnrichmentSubjectWorkflow.run,
        EnrichmentSubjectInput(enricher_type=ENRICHER, subject_key=subject_key(job, "user-1"), continue_as_new_after=3),
        id=workflow_id,
        task_queue=task_queue,
    )
    refs = await asyncio.gather(
        *(request_enrichment_run(client, _request(job), task_queue=task_queue) for _ in range(16))
    )
    assert len({r.run_id for r in refs}) == 16
    superseded = {r.previous_run_id for r in refs if r.previous_run_id}
    (active,) = [r for r in refs if r.run_id not in superseded]
    subject = client.get_workflow_handle(workflow_id)
    assert await subject.query(EnrichmentSubjectWorkflow.active_run_id) == active.run_id
    executions = [e async for e in client.list_workflows(f'WorkflowId = "{workflow_id}"')]
    # A burst delivered in one workflow task is admitted together, so an execution may take
    # more than its threshold, but never an unbounded stream.
    assert len(executions) >= 2
    for execution in executions:
        described = await client.get_workflow_handle(workflow_id, run_id=execution.run_id).describe()
        assert described.raw_description.workflow_execution_info.history_length < 250

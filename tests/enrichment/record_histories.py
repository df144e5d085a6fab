"""Record the enrichment workflows' checked-in histories (``tests/enrichment/histories``).

    .venv/bin/python -m tests.enrichment.record_histories

Runs each workflow through its main paths on a Temporal dev server (read model and
maintenance activities faked) and saves the histories that ``test_replay.py`` replays against
the current code. Re-record only for a deliberate, versioned change: a history recorded
before a change is what proves the change is compatible with runs already in flight.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import activity
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.run_workflows import RunWorkflowActivities
from tests.enrichment.conftest import FakeRunStore
from vitae.enrichment_contracts import (
    CompleteRequest,
    FailRequest,
    HeartbeatRequest,
    LeaseRequest,
    RequestRunInput,
    RunPolicy,
    run_workflow_id,
    subject_key,
    subject_workflow_id,
)
from workflows.enrichment import (
    EnrichmentRunWorkflow,
    EnrichmentSubjectWorkflow,
    ExpireInput,
    request_enrichment_run,
)
from workflows.enrichment_maintenance import (
    EnrichmentMaintenanceWorkflow,
    ExpireRunsInput,
    ExpireRunsResult,
    MaintenanceActivity,
    MaintenanceInput,
    PurgeInput,
    PurgeResult,
    StaleRunQuery,
)
from workflows.sandbox import workflow_runner

HISTORIES = Path(__file__).resolve().parent / "histories"
TASK_QUEUE = "record-enrichment-histories"
ENRICHER = "compatibility.v1"


@activity.defn(name=MaintenanceActivity.FIND_STALE_RUNS)
async def find_stale_runs(query: StaleRunQuery) -> list[str]:
    return ["run-a", "run-b"] if query.after_run_id is None else []


@activity.defn(name=MaintenanceActivity.EXPIRE_RUNS)
async def expire_runs(inp: ExpireRunsInput) -> ExpireRunsResult:
    return ExpireRunsResult(signalled=len(inp.run_ids))


@activity.defn(name=MaintenanceActivity.PURGE_SNAPSHOTS)
async def purge_input_snapshots(inp: PurgeInput) -> PurgeResult:
    return PurgeResult(listed=2, deleted=1, kept_recent=1, continuation=None if inp.continuation else "next")


def _request(job: str, **extra: object) -> RequestRunInput:
    return RequestRunInput(
        enricher_type=ENRICHER,
        job_id=job,
        user_id="user-1",
        cv_version_id="cv-1",
        input_snapshot_path=f"enrichment/runs/{job}/input.json",
        policy=RunPolicy(lease_ttl_seconds=60, max_attempts=2),
        **extra,  # type: ignore[arg-type]
    )


async def _save(client: Client, workflow_id: str, name: str) -> None:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    (HISTORIES / f"{name}.json").write_text(history.to_json())
    print(f"{name}: {len(history.events)} events")


async def record(client: Client) -> None:
    job = "job-" + uuid.uuid4().hex[:8]
    # Subject: a request, an idempotent repeat, a newer request superseding the first.
    first = await request_enrichment_run(client, _request(job, idempotency_key="k1"), task_queue=TASK_QUEUE)
    await request_enrichment_run(client, _request(job, idempotency_key="k1"), task_queue=TASK_QUEUE)
    second = await request_enrichment_run(client, _request(job), task_queue=TASK_QUEUE)
    await client.get_workflow_handle(first.workflow_id).result()  # superseded
    # Run: lease, heartbeat, retryable failure (requeued), lease again, complete.
    run = client.get_workflow_handle_for(EnrichmentRunWorkflow.run, second.workflow_id)
    grant = await run.execute_update(EnrichmentRunWorkflow.lease, LeaseRequest("worker-a"))
    await run.execute_update(EnrichmentRunWorkflow.heartbeat, HeartbeatRequest(grant.lease_token))
    await run.execute_update(EnrichmentRunWorkflow.fail, FailRequest(grant.lease_token, "SLOW", retryable=True))
    grant = await run.execute_update(EnrichmentRunWorkflow.lease, LeaseRequest("worker-b"))
    await run.execute_update(EnrichmentRunWorkflow.complete, CompleteRequest(grant.lease_token, 72.5, "good"))
    await run.result()
    # Run: expired by the maintenance sweep while leased.
    third = await request_enrichment_run(client, _request(job), task_queue=TASK_QUEUE)
    expiring = client.get_workflow_handle_for(EnrichmentRunWorkflow.run, third.workflow_id)
    await expiring.execute_update(EnrichmentRunWorkflow.lease, LeaseRequest("worker-c"))
    await expiring.signal(EnrichmentRunWorkflow.expire, ExpireInput("stuck past policy"))
    await expiring.result()
    maintenance_id = "maintenance-" + uuid.uuid4().hex[:8]
    await client.execute_workflow(
        EnrichmentMaintenanceWorkflow.run,
        MaintenanceInput(batch_size=2),
        id=maintenance_id,
        task_queue=TASK_QUEUE,
        execution_timeout=timedelta(minutes=1),
    )

    await _save(client, subject_workflow_id(ENRICHER, subject_key(job, "user-1")), "subject_requests")
    await _save(client, run_workflow_id(first.run_id), "run_superseded")
    await _save(client, run_workflow_id(second.run_id), "run_requeued_then_succeeded")
    await _save(client, run_workflow_id(third.run_id), "run_expired_by_maintenance")
    await _save(client, maintenance_id, "maintenance")


async def main() -> None:
    HISTORIES.mkdir(exist_ok=True)
    store = FakeRunStore()
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(Path(sys.executable).parent / "temporal"))
    try:
        async with Worker(
            env.client,
            task_queue=TASK_QUEUE,
            workflows=[EnrichmentSubjectWorkflow, EnrichmentRunWorkflow, EnrichmentMaintenanceWorkflow],
            activities=[
                store.record_run,
                RunWorkflowActivities(env.client).start_run,
                find_stale_runs,
                expire_runs,
                purge_input_snapshots,
            ],
            workflow_runner=workflow_runner(),
        ):
            await record(env.client)
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())

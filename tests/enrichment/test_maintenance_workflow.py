"""EnrichmentMaintenanceWorkflow's orchestration on the time-skipping server, activities faked.

The sweep's paging (keyset for stale runs, continuation tokens for snapshots), its cutoffs
(taken from the workflow clock) and its per-execution budget. The activities themselves run
against real PostgreSQL, Azurite and Temporal in ``tests/enrichment_api/test_maintenance.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from workflows.enrichment_maintenance import (
    SNAPSHOT_PREFIX,
    EnrichmentMaintenanceWorkflow,
    ExpireRunsInput,
    ExpireRunsResult,
    MaintenanceActivity,
    MaintenanceInput,
    MaintenanceReport,
    PurgeInput,
    PurgeResult,
    StaleRunQuery,
)
from workflows.sandbox import workflow_runner

pytestmark = pytest.mark.asyncio(loop_scope="session")


@dataclass
class FakeMaintenance:
    """Stale run ids in id order and snapshot pages; records every call."""

    stale: list[str] = field(default_factory=list)
    snapshot_pages: list[PurgeResult] = field(default_factory=list)
    queries: list[StaleRunQuery] = field(default_factory=list)
    expired: list[ExpireRunsInput] = field(default_factory=list)
    purges: list[PurgeInput] = field(default_factory=list)

    @activity.defn(name=MaintenanceActivity.FIND_STALE_RUNS)
    async def find_stale_runs(self, query: StaleRunQuery) -> list[str]:
        self.queries.append(query)
        after = [r for r in self.stale if query.after_run_id is None or r > query.after_run_id]
        return after[: query.limit]

    @activity.defn(name=MaintenanceActivity.EXPIRE_RUNS)
    async def expire_runs(self, inp: ExpireRunsInput) -> ExpireRunsResult:
        self.expired.append(inp)
        return ExpireRunsResult(signalled=len(inp.run_ids))

    @activity.defn(name=MaintenanceActivity.PURGE_SNAPSHOTS)
    async def purge_input_snapshots(self, inp: PurgeInput) -> PurgeResult:
        self.purges.append(inp)
        index = 0 if inp.continuation is None else int(inp.continuation)
        page = self.snapshot_pages[index]
        more = index + 1 < len(self.snapshot_pages)
        return PurgeResult(
            listed=page.listed,
            deleted=page.deleted,
            kept_recent=page.kept_recent,
            kept_unfinished=page.kept_unfinished,
            continuation=str(index + 1) if more else None,
        )


@pytest_asyncio.fixture(loop_scope="session")
async def maintenance(time_skipping_env: WorkflowEnvironment, task_queue: str) -> AsyncIterator[FakeMaintenance]:
    fake = FakeMaintenance()
    async with Worker(
        time_skipping_env.client,
        task_queue=task_queue,
        workflows=[EnrichmentMaintenanceWorkflow],
        activities=[fake.find_stale_runs, fake.expire_runs, fake.purge_input_snapshots],
        workflow_runner=workflow_runner(),
    ):
        yield fake


async def _run(env: WorkflowEnvironment, task_queue: str, inp: MaintenanceInput) -> MaintenanceReport:
    return await env.client.execute_workflow(
        EnrichmentMaintenanceWorkflow.run, inp, id=f"maintenance-{uuid.uuid4().hex}", task_queue=task_queue
    )


async def test_stale_runs_are_paged_by_run_id_and_expired_with_cutoffs_from_the_workflow_clock(
    time_skipping_env: WorkflowEnvironment, task_queue: str, maintenance: FakeMaintenance
) -> None:
    maintenance.stale = [f"run-{i:03d}" for i in range(7)]
    before = (await time_skipping_env.get_current_time()).timestamp()
    inp = MaintenanceInput(
        purge_snapshots=False, stale_after_seconds=86400, stuck_grace_seconds=600, batch_size=3, enricher_types=["x.v1"]
    )
    report = await _run(time_skipping_env, task_queue, inp)

    assert report.complete and report.stale_found == 7 and report.expire.signalled == 7
    assert [e.run_ids for e in maintenance.expired] == [maintenance.stale[0:3], maintenance.stale[3:6], ["run-006"]]
    # Keyset paging: each query continues after the last id of the previous page.
    assert [q.after_run_id for q in maintenance.queries] == [None, "run-002", "run-005"]
    query = maintenance.queries[0]
    assert query.enricher_types == ["x.v1"] and query.limit == 3
    now = query.requested_before + 86400
    assert before - 5 <= now <= before + 60  # the workflow's clock, not the activity's
    assert query.stuck_before == pytest.approx(now - 600)
    assert maintenance.purges == []  # this schedule only expires


async def test_snapshot_purge_follows_continuations_with_the_retention_cutoff(
    time_skipping_env: WorkflowEnvironment, task_queue: str, maintenance: FakeMaintenance
) -> None:
    maintenance.snapshot_pages = [
        PurgeResult(listed=5, deleted=3, kept_recent=1, kept_unfinished=1),
        PurgeResult(listed=2, deleted=2),
    ]
    inp = MaintenanceInput(expire_stale_runs=False, snapshot_retention_seconds=30 * 86400, batch_size=5)
    report = await _run(time_skipping_env, task_queue, inp)

    assert report.complete and maintenance.queries == []
    assert [p.continuation for p in maintenance.purges] == [None, "1"]
    assert all(p.prefix == SNAPSHOT_PREFIX and p.limit == 5 for p in maintenance.purges)
    assert report.purge.listed == 7 and report.purge.deleted == 5
    assert report.purge.kept_recent == 1 and report.purge.kept_unfinished == 1
    first = maintenance.purges[0]
    assert first.older_than == pytest.approx(maintenance.purges[1].older_than)  # one cutoff per execution


async def test_a_budget_of_batches_leaves_the_rest_to_the_next_execution(
    time_skipping_env: WorkflowEnvironment, task_queue: str, maintenance: FakeMaintenance
) -> None:
    maintenance.stale = [f"run-{i:03d}" for i in range(10)]
    maintenance.snapshot_pages = [PurgeResult(listed=1)] * 5
    report = await _run(time_skipping_env, task_queue, MaintenanceInput(batch_size=2, max_batches=2))
    assert not report.complete
    assert report.stale_found == 4 and len(maintenance.expired) == 2
    assert len(maintenance.purges) == 2


async def test_nothing_stale_and_no_snapshots_is_a_quiet_run(
    time_skipping_env: WorkflowEnvironment, task_queue: str, maintenance: FakeMaintenance
) -> None:
    maintenance.snapshot_pages = [PurgeResult()]
    report = await _run(time_skipping_env, task_queue, MaintenanceInput())
    assert report.complete and report.stale_found == 0 and maintenance.expired == []
    assert len(maintenance.purges) == 1 and report.purge.listed == 0

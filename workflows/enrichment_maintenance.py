"""Enrichment housekeeping, started by Temporal Schedules: expire runs stuck past policy and
delete input snapshots past retention.

``EnrichmentMaintenanceWorkflow`` is orchestration only (no I/O, clock from ``workflow.now()``);
its activities (``activities/enrichment_maintenance.py``) do the work in pages:

* **expire stale runs**: find unfinished runs in the ``enrichment_runs`` read model that are
  older than policy allows, or stuck (Pending, or Leased long after their lease ended), and
  send each run workflow the ``expire`` signal — the run's own state machine ends it as
  Expired and records that, exactly like a lapsed lease. A run whose workflow never started is
  started just to be expired (signal-with-start); SQL is never edited behind Temporal's back.
* **purge input snapshots**: list ``enrichment/runs/{runId}/input.json`` blobs older than the
  retention period, delete those whose run has finished (or that belong to no run), and mark
  ``input_deleted_at`` on the run. Idempotent: a deleted blob is not listed again.

Each execution does at most ``max_batches`` pages of each; the next scheduled one continues.
Two schedules (``ensure_maintenance_schedules``, created or updated when the worker starts)
run it with different intervals, one task each; overlapping executions are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

from temporalio import workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import RetryPolicy

EXPIRE_SCHEDULE_ID = "vitae-enrichment-expire-stale-runs"
PURGE_SCHEDULE_ID = "vitae-enrichment-purge-input-snapshots"
SNAPSHOT_PREFIX = "enrichment/runs/"

ACTIVITY_TIMEOUT = timedelta(minutes=5)
ACTIVITY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1), maximum_attempts=5
)


class MaintenanceActivity:
    """Registered activity names (the workflow never imports the activity module)."""

    FIND_STALE_RUNS = "enrichment.find_stale_runs"
    EXPIRE_RUNS = "enrichment.expire_runs"
    PURGE_SNAPSHOTS = "enrichment.purge_input_snapshots"


# Times cross the activity boundary as epoch seconds: these dataclasses live in a sandboxed
# module, where datetime is a proxy the payload converter does not recognise.


@dataclass
class MaintenanceInput:
    expire_stale_runs: bool = True
    purge_snapshots: bool = True
    # An unfinished run requested longer ago than this is stale, whatever its state.
    stale_after_seconds: int = 14 * 86400
    # Pending this long (its run workflow never queued it), or Leased this long after its
    # lease ended (its timer should have fired): stuck.
    stuck_grace_seconds: int = 3600
    # Input snapshots older than this are deleted once their run has finished.
    snapshot_retention_seconds: int = 30 * 86400
    # Only these enricher types' runs (None: all). Snapshots are not typed: the purge ignores it.
    enricher_types: list[str] | None = None
    batch_size: int = 200
    max_batches: int = 50


@dataclass
class StaleRunQuery:
    requested_before: float
    stuck_before: float
    enricher_types: list[str] | None
    after_run_id: str | None
    limit: int


@dataclass
class ExpireRunsInput:
    run_ids: list[str]
    reason: str


@dataclass
class ExpireRunsResult:
    # Signalled (running workflows, and never-started ones started to be expired).
    signalled: int = 0
    # Finished meanwhile, or gone from the read model: nothing to do.
    skipped: int = 0
    # The workflow had closed but the row still showed it unfinished: the row was brought up
    # to the workflow's final state.
    reconciled: int = 0


@dataclass
class PurgeInput:
    prefix: str
    older_than: float
    continuation: str | None
    limit: int


@dataclass
class PurgeResult:
    listed: int = 0
    deleted: int = 0
    # Younger than the retention period.
    kept_recent: int = 0
    # Old, but the run is still unfinished (the stale sweep ends it first).
    kept_unfinished: int = 0
    continuation: str | None = None


@dataclass
class MaintenanceReport:
    stale_found: int = 0
    expire: ExpireRunsResult = field(default_factory=ExpireRunsResult)
    purge: PurgeResult = field(default_factory=PurgeResult)
    # False when max_batches ran out with work left (the next execution goes on).
    complete: bool = True


@workflow.defn
class EnrichmentMaintenanceWorkflow:
    @workflow.run
    async def run(self, inp: MaintenanceInput) -> MaintenanceReport:
        report = MaintenanceReport()
        now = workflow.now().timestamp()
        if inp.expire_stale_runs:
            report.complete &= await self._expire(inp, now, report)
        if inp.purge_snapshots:
            report.complete &= await self._purge(inp, now, report)
        return report

    async def _expire(self, inp: MaintenanceInput, now: float, report: MaintenanceReport) -> bool:
        after: str | None = None
        reason = (
            f"unfinished past policy (older than {inp.stale_after_seconds} s, or stuck for"
            f" {inp.stuck_grace_seconds} s); expired by maintenance"
        )
        for _ in range(inp.max_batches):
            run_ids = await workflow.execute_activity(
                MaintenanceActivity.FIND_STALE_RUNS,
                StaleRunQuery(
                    requested_before=now - inp.stale_after_seconds,
                    stuck_before=now - inp.stuck_grace_seconds,
                    enricher_types=inp.enricher_types,
                    after_run_id=after,
                    limit=inp.batch_size,
                ),
                result_type=list[str],
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY,
            )
            if not run_ids:
                return True
            report.stale_found += len(run_ids)
            result = await workflow.execute_activity(
                MaintenanceActivity.EXPIRE_RUNS,
                ExpireRunsInput(run_ids=run_ids, reason=reason),
                result_type=ExpireRunsResult,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                heartbeat_timeout=timedelta(minutes=1),
                retry_policy=ACTIVITY_RETRY,
            )
            report.expire.signalled += result.signalled
            report.expire.skipped += result.skipped
            report.expire.reconciled += result.reconciled
            # Keyset paging: signalled runs may still read as unfinished for a moment.
            after = run_ids[-1]
            if len(run_ids) < inp.batch_size:
                return True
        return False

    async def _purge(self, inp: MaintenanceInput, now: float, report: MaintenanceReport) -> bool:
        continuation: str | None = None
        for _ in range(inp.max_batches):
            page = await workflow.execute_activity(
                MaintenanceActivity.PURGE_SNAPSHOTS,
                PurgeInput(
                    prefix=SNAPSHOT_PREFIX,
                    older_than=now - inp.snapshot_retention_seconds,
                    continuation=continuation,
                    limit=inp.batch_size,
                ),
                result_type=PurgeResult,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                heartbeat_timeout=timedelta(minutes=1),
                retry_policy=ACTIVITY_RETRY,
            )
            total = report.purge
            total.listed += page.listed
            total.deleted += page.deleted
            total.kept_recent += page.kept_recent
            total.kept_unfinished += page.kept_unfinished
            continuation = page.continuation
            if not continuation:
                return True
        return False


# --- client side: the schedules ----------------------------------------------------------


@dataclass
class MaintenanceSchedule:
    schedule_id: str
    every: timedelta
    inp: MaintenanceInput


def maintenance_schedules(
    base: MaintenanceInput, *, expire_every: timedelta, purge_every: timedelta
) -> list[MaintenanceSchedule]:
    """The two schedules: the stale-run sweep (frequent) and the snapshot purge (daily-ish)."""
    return [
        MaintenanceSchedule(EXPIRE_SCHEDULE_ID, expire_every, replace(base, purge_snapshots=False)),
        MaintenanceSchedule(PURGE_SCHEDULE_ID, purge_every, replace(base, expire_stale_runs=False)),
    ]


def _schedule(entry: MaintenanceSchedule, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            EnrichmentMaintenanceWorkflow.run,
            entry.inp,
            # The schedule appends the scheduled time to this id, so executions never collide.
            id=entry.schedule_id,
            task_queue=task_queue,
            execution_timeout=timedelta(hours=1),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=entry.every)]),
        # One sweep at a time; a missed run (server or worker down) is not caught up in a burst.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(minutes=10)),
    )


async def ensure_maintenance_schedules(
    client: Client, schedules: list[MaintenanceSchedule], *, task_queue: str
) -> list[str]:
    """Create each schedule, or update it to the current settings if it exists (idempotent:
    every worker calls this when it starts). An update keeps the schedule's state, so a schedule
    an operator paused stays paused. Returns ``created:ID`` / ``updated:ID`` per schedule."""
    outcome = []
    for entry in schedules:
        schedule = _schedule(entry, task_queue)
        try:
            await client.create_schedule(entry.schedule_id, schedule)
            outcome.append(f"created:{entry.schedule_id}")
        except ScheduleAlreadyRunningError:

            def replace_with(current: ScheduleUpdateInput, new: Schedule = schedule) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=replace(new, state=current.description.schedule.state))

            await client.get_schedule_handle(entry.schedule_id).update(replace_with)
            outcome.append(f"updated:{entry.schedule_id}")
    return outcome

"""Enrichment runs: one long-lived workflow per subject, one workflow per run.

``EnrichmentSubjectWorkflow`` (id ``enrich-subject-{enricherType}-{jobId}:{userId}``) is the
single writer for a subject: clients reach it with update-with-start (``request_run``), so the
first request starts it and concurrent requests queue on it instead of racing. Each accepted
request starts an ``EnrichmentRunWorkflow`` (id ``enrich-run-{runId}``) and signals the
previous active run ``supersede``. The subject continues-as-new before its history grows large,
carrying the active run and recent idempotency keys.

``EnrichmentRunWorkflow`` is the run's state machine: Queued → Leased (Update ``lease``) →
Succeeded/Failed (Updates ``complete``/``fail``); the lease is a durable timer that Update
``heartbeat`` pushes back and whose expiry requeues the run, or expires it after
``max_attempts`` leases; signal ``expire`` (the maintenance sweep, ``workflows/enrichment_maintenance.py``)
ends a run stuck past policy. Validators reject stale work (wrong token, lapsed lease, superseded
or finished run) before any state changes or any write happens. Every transition bumps a
state version and is mirrored into the ``enrichment_runs`` read model by one activity; updates
return only once their transition is recorded, so the gateway can read its own writes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import RetryPolicy, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, FailureError, WorkflowAlreadyStartedError

# Plain dataclasses, passed through the sandbox so their datetime fields convert (the sandbox's
# own datetime is a restricted proxy the converter does not recognise).
with workflow.unsafe.imports_passed_through():
    from vitae.enrichment_contracts import (
        CompleteRequest,
        EnrichmentActivity,
        EnrichmentRunInput,
        EnrichmentSubjectInput,
        FailRequest,
        HeartbeatRequest,
        LeaseGrant,
        LeaseRequest,
        RejectionType,
        RequestRunInput,
        RunErrorCode,
        RunRef,
        RunSnapshot,
        RunStatus,
        StartRunInput,
        SupersedeInput,
        run_workflow_id,
        subject_key,
        subject_workflow_id,
    )

# Error code of a run ended by the maintenance workflow (stuck or older than policy allows).
STALE_ERROR_CODE = "RUN_STALE"
# Rejection of a request that reached a subject about to continue-as-new; the client retries
# it (request_enrichment_run) and it lands on the new execution.
CONTINUING_AS_NEW = "SUBJECT_CONTINUING_AS_NEW"
# Requests per subject execution for subjects started from now on. Small enough that a
# subject evicted from the worker's cache replays quickly (~16 events per request), large
# enough that continue-as-new is rare.
SUBJECT_CONTINUE_AS_NEW_AFTER = 100
CONTINUE_AS_NEW_RETRIES = 40


@dataclass
class ExpireInput:
    """Signal ``expire``: end an unfinished run as Expired (sent by the maintenance sweep)."""

    reason: str


# The read model must not lose a transition: store failures are retried for a long time.
STORE_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))
STORE_TIMEOUT = timedelta(seconds=15)
# Idempotency keys and Update ids remembered per subject (and carried across continue-as-new):
# more than one execution's requests (SUBJECT_CONTINUE_AS_NEW_AFTER), so a request repeated
# across a continue-as-new is recognised; ~30 KB in the carried input at most.
RECENT_REQUESTS_KEPT = 128
MAX_SUMMARY_CHARS = 4000


def _reject(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


# Since this patch, transitions are recorded by a local activity: it runs in the worker that
# runs the workflow task, inside that task, so a lease or completion costs one workflow task
# and no activity task through the server (bench.enrichment_gateway: about half the Temporal
# server's and worker's CPU per run). Executions started before it keep regular activities.
LOCAL_RECORD_PATCH = "record-run-as-local-activity"
# Since this patch, a subject starts each run's workflow from a local activity
# (``activities/run_workflows.py``) instead of as a child: a child's start and its completion
# each add events to the subject and wake it for a workflow task, for an outcome the subject
# never reads. Subjects started before it keep starting children.
START_RUN_BY_ACTIVITY_PATCH = "start-run-by-activity"
# Namespace of the run ids derived from a request's Update id (``_request_run_id``).
RUN_ID_NAMESPACE = uuid.UUID("5d0c3b8e-6f1a-4d8e-9a57-3c2f1e0b7a61")


async def _record(snapshot: RunSnapshot) -> None:
    summary = f"record {snapshot.status.value} v{snapshot.state_version}"
    if workflow.patched(LOCAL_RECORD_PATCH):
        await workflow.execute_local_activity(
            EnrichmentActivity.RECORD_RUN,
            snapshot,
            result_type=bool,
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
            summary=summary,
        )
        return
    await workflow.execute_activity(
        EnrichmentActivity.RECORD_RUN,
        snapshot,
        result_type=bool,
        start_to_close_timeout=STORE_TIMEOUT,
        retry_policy=STORE_RETRY,
        summary=summary,
    )


@workflow.defn
class EnrichmentRunWorkflow:
    @workflow.init
    def __init__(self, inp: EnrichmentRunInput) -> None:
        self._inp = inp
        self._status = RunStatus.QUEUED
        # Version 0 is the Pending row the subject workflow wrote; ours start at 1.
        self._version = 1
        self._recorded_version = 0
        self._attempt = 0
        self._queued_at = workflow.now()
        self._leased_at: datetime | None = None
        self._lease_until: datetime | None = None
        self._lease_token: str | None = None
        self._worker_id: str | None = None
        # Bumped by every lease and heartbeat, so the main loop restarts its lease timer.
        self._lease_generation = 0
        self._finished_at: datetime | None = None
        self._score: float | None = None
        self._summary: str | None = None
        self._error_code: str | None = None
        self._error_message: str | None = None
        self._superseded_by: str | None = None

    @workflow.run
    async def run(self, inp: EnrichmentRunInput) -> RunSnapshot:
        while True:
            await self._flush()
            if self._status.terminal:
                break
            if self._status == RunStatus.QUEUED:
                await self._while_queued()
            elif self._status == RunStatus.LEASED:
                await self._while_leased()
        # Updates waiting for their transition to be recorded finish before the run closes.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._snapshot(include_token=False)

    async def _while_queued(self) -> None:
        # Offline workers may lease hours or days later; only an optional queue TTL ends the wait.
        ttl = self._inp.policy.queue_ttl_seconds
        timeout = None if ttl is None else self._queued_at + timedelta(seconds=ttl) - workflow.now()
        timed_out = not await self._wait(lambda: self._status != RunStatus.QUEUED, timeout, "queue TTL")
        # A lease may have landed in the same workflow task as the timer: it wins.
        if timed_out and self._status == RunStatus.QUEUED:
            self._end(RunStatus.EXPIRED, RunErrorCode.QUEUE_EXPIRED, "no worker leased the run in time")

    async def _while_leased(self) -> None:
        # The lease is a durable timer: it survives worker and server restarts. A heartbeat
        # bumps the generation, which ends this wait; the loop then starts a timer for the new
        # lease_until.
        assert self._lease_until is not None
        generation = self._lease_generation
        timed_out = not await self._wait(
            lambda: self._status != RunStatus.LEASED or self._lease_generation != generation,
            self._lease_until - workflow.now(),
            "lease",
        )
        if timed_out and self._status == RunStatus.LEASED and self._lease_generation == generation:
            self._lease_lapsed()

    # --- signals and updates ----------------------------------------------------------

    @workflow.signal
    def supersede(self, inp: SupersedeInput) -> None:
        # Synchronous on purpose: it takes effect before any update validator that follows it
        # in the same workflow task, so a worker's late completion is refused.
        if not self._status.terminal:
            self._superseded_by = inp.by_run_id
            self._end(RunStatus.SUPERSEDED, RunErrorCode.SUPERSEDED, f"superseded by run {inp.by_run_id}")

    @workflow.signal
    def expire(self, inp: ExpireInput) -> None:
        # Like supersede: synchronous, so it wins over any update later in the same task. A
        # finished run keeps its outcome; an unfinished one ends Expired and records it.
        if not self._status.terminal:
            self._end(RunStatus.EXPIRED, STALE_ERROR_CODE, inp.reason[:500])

    @workflow.update
    async def lease(self, req: LeaseRequest) -> LeaseGrant:
        self._check_leasable(req)
        now = workflow.now()
        self._attempt += 1
        self._lease_token = str(workflow.uuid4())
        self._leased_at = now
        self._lease_until = now + timedelta(seconds=self._inp.policy.lease_ttl_seconds)
        self._worker_id = req.worker_id
        self._lease_generation += 1
        self._status = RunStatus.LEASED
        version = self._bump()
        token = self._lease_token
        await self._recorded(version)
        # Superseded (or lapsed) while the lease was being recorded: the worker must not start.
        self._check_lease(token)
        return self._grant()

    @lease.validator
    def _validate_lease(self, req: LeaseRequest) -> None:
        self._check_leasable(req)

    @workflow.update
    async def heartbeat(self, req: HeartbeatRequest) -> LeaseGrant:
        self._check_lease(req.lease_token)
        self._lease_until = workflow.now() + timedelta(seconds=self._inp.policy.lease_ttl_seconds)
        self._lease_generation += 1
        await self._recorded(self._bump())
        self._check_lease(req.lease_token)
        return self._grant()

    @heartbeat.validator
    def _validate_heartbeat(self, req: HeartbeatRequest) -> None:
        self._check_lease(req.lease_token)

    @workflow.update
    async def complete(self, req: CompleteRequest) -> RunSnapshot:
        self._check_completion(req)
        self._score = req.score
        self._summary = req.summary
        self._end(RunStatus.SUCCEEDED, None, None)
        await self._recorded(self._version)
        return self._snapshot(include_token=False)

    @complete.validator
    def _validate_complete(self, req: CompleteRequest) -> None:
        self._check_completion(req)

    @workflow.update
    async def fail(self, req: FailRequest) -> RunSnapshot:
        self._check_failure(req)
        if req.retryable and self._attempt < self._inp.policy.max_attempts:
            self._requeue(req.error_code, req.error_message)
        else:
            self._end(RunStatus.FAILED, req.error_code, req.error_message)
        await self._recorded(self._version)
        return self._snapshot(include_token=False)

    @fail.validator
    def _validate_fail(self, req: FailRequest) -> None:
        self._check_failure(req)

    @workflow.query
    def state(self) -> RunSnapshot:
        # Never the lease token: only the worker that leased the run may know it.
        return self._snapshot(include_token=False)

    # --- checks shared by validators and handlers --------------------------------------

    def _check_leasable(self, req: LeaseRequest) -> None:
        if not req.worker_id:
            raise _reject("worker_id is required", RejectionType.INVALID_REQUEST)
        if self._status != RunStatus.QUEUED:
            raise _reject(f"run is {self._status.value}, not queued", RejectionType.NOT_QUEUED)

    def _check_lease(self, token: str) -> None:
        if self._status != RunStatus.LEASED:
            raise _reject(f"run is {self._status.value}, not leased", RejectionType.NOT_LEASED)
        if token != self._lease_token:
            raise _reject("lease token does not match the current lease", RejectionType.WRONG_LEASE)
        # The timer may not have fired yet in this workflow task; the clock decides.
        if self._lease_until is None or workflow.now() >= self._lease_until:
            raise _reject("lease has expired", RejectionType.LEASE_EXPIRED)

    def _check_completion(self, req: CompleteRequest) -> None:
        self._check_lease(req.lease_token)
        if not 0 <= req.score <= 100:
            raise _reject(f"score {req.score} is outside 0–100", RejectionType.INVALID_RESULT)
        if len(req.summary) > MAX_SUMMARY_CHARS:
            raise _reject(f"summary longer than {MAX_SUMMARY_CHARS} characters", RejectionType.INVALID_RESULT)

    def _check_failure(self, req: FailRequest) -> None:
        self._check_lease(req.lease_token)
        if not req.error_code:
            raise _reject("error_code is required", RejectionType.INVALID_REQUEST)

    # --- transitions ------------------------------------------------------------------

    def _bump(self) -> int:
        self._version += 1
        workflow.set_current_details(f"**{self._status.value}** · attempt {self._attempt}")
        return self._version

    def _end(self, status: RunStatus, code: str | None, message: str | None) -> None:
        self._status = status
        self._finished_at = workflow.now()
        self._error_code = code
        self._error_message = message
        self._bump()

    def _requeue(self, code: str | None, message: str | None) -> None:
        # The lease token dies with the lease: a late completion under it is refused.
        self._status = RunStatus.QUEUED
        self._queued_at = workflow.now()
        self._lease_token = None
        self._lease_until = None
        self._worker_id = None
        self._error_code = code
        self._error_message = message
        self._bump()

    def _lease_lapsed(self) -> None:
        if self._attempt >= self._inp.policy.max_attempts:
            self._end(RunStatus.EXPIRED, RunErrorCode.LEASE_EXPIRED, f"lease lapsed on all {self._attempt} attempts")
        else:
            self._requeue(RunErrorCode.LEASE_EXPIRED, f"lease lapsed on attempt {self._attempt}")

    async def _wait(self, until: Callable[[], bool], timeout: timedelta | None, what: str) -> bool:
        """Wait for ``until`` or a new transition to record; False when the timer fired."""
        if timeout is not None and timeout <= timedelta(0):
            return False
        try:
            await workflow.wait_condition(
                lambda: until() or self._recorded_version < self._version, timeout=timeout, timeout_summary=what
            )
        except TimeoutError:
            return False
        return True

    async def _flush(self) -> None:
        # The only writer, so snapshots reach the store in order; intermediate states that
        # happened during a write are coalesced into the latest one.
        while self._recorded_version < self._version:
            snapshot = self._snapshot(include_token=True)
            await _record(snapshot)
            self._recorded_version = snapshot.state_version

    async def _recorded(self, version: int) -> None:
        await workflow.wait_condition(lambda: self._recorded_version >= version)

    def _grant(self) -> LeaseGrant:
        assert self._lease_token is not None and self._lease_until is not None
        inp = self._inp
        return LeaseGrant(
            run_id=inp.run_id,
            lease_token=self._lease_token,
            lease_until=self._lease_until,
            attempt=self._attempt,
            enricher_type=inp.enricher_type,
            job_id=inp.job_id,
            user_id=inp.user_id,
            cv_version_id=inp.cv_version_id,
            input_snapshot_path=inp.input_snapshot_path,
        )

    def _snapshot(self, *, include_token: bool) -> RunSnapshot:
        inp = self._inp
        return RunSnapshot(
            run_id=inp.run_id,
            enricher_type=inp.enricher_type,
            subject_key=inp.subject_key,
            job_id=inp.job_id,
            user_id=inp.user_id,
            status=self._status,
            state_version=self._version,
            requested_at=inp.requested_at,
            cv_version_id=inp.cv_version_id,
            input_snapshot_path=inp.input_snapshot_path,
            attempt=self._attempt,
            max_attempts=inp.policy.max_attempts,
            queued_at=self._queued_at,
            leased_at=self._leased_at,
            lease_until=self._lease_until,
            lease_token=self._lease_token if include_token else None,
            worker_id=self._worker_id,
            finished_at=self._finished_at,
            score=self._score,
            summary=self._summary,
            error_code=self._error_code,
            error_message=self._error_message,
            superseded_by=self._superseded_by,
        )


@workflow.defn
class EnrichmentSubjectWorkflow:
    @workflow.init
    def __init__(self, inp: EnrichmentSubjectInput) -> None:
        self._inp = inp
        self._active_run_id = inp.active_run_id
        self._recent = dict(inp.recent_requests)
        self._handled = 0
        # Update handlers await activities and child starts; the lock keeps each request's
        # supersede-then-replace atomic, so two concurrent requests cannot both become active.
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, inp: EnrichmentSubjectInput) -> None:
        await workflow.wait_condition(lambda: self._should_continue_as_new() and workflow.all_handlers_finished())
        workflow.continue_as_new(
            replace(inp, active_run_id=self._active_run_id, recent_requests=self._recent),
        )

    @workflow.update
    async def request_run(self, req: RequestRunInput) -> RunRef:
        async with self._lock:
            by_activity = workflow.patched(START_RUN_BY_ACTIVITY_PATCH)
            keys = [key for key in (req.idempotency_key, _update_key() if by_activity else None) if key]
            for key in keys:
                if key in self._recent:
                    return replace(self._recent[key], created=False)
            run_id = req.run_id or (_request_run_id() if by_activity else str(workflow.uuid4()))
            run_input = EnrichmentRunInput(
                run_id=run_id,
                enricher_type=req.enricher_type,
                subject_key=self._inp.subject_key,
                job_id=req.job_id,
                user_id=req.user_id,
                cv_version_id=req.cv_version_id,
                input_snapshot_path=req.input_snapshot_path,
                requested_at=workflow.now(),
                policy=req.policy,
            )
            # The row exists before the caller hears back, so it can list the run at once.
            await _record(_pending_snapshot(run_input))
            summary = f"{req.enricher_type} run for {self._inp.subject_key}"
            if by_activity:
                await _start_run(run_input, summary)
            else:
                await _start_run_as_child(run_input, summary)
            previous = self._active_run_id
            self._active_run_id = run_id
            if previous is not None and previous != run_id:
                await _supersede(previous, run_id)
            ref = RunRef(
                run_id=run_id,
                workflow_id=run_workflow_id(run_id),
                requested_at=run_input.requested_at,
                previous_run_id=previous,
            )
            for key in keys:
                self._remember(key, ref)
            self._handled += 1
            return ref

    @request_run.validator
    def _validate_request_run(self, req: RequestRunInput) -> None:
        if self._should_continue_as_new():
            # Turn new requests away (no history written) so the ones in flight drain and the
            # workflow can continue as new: otherwise a steady stream of requests would keep
            # handlers running and the history growing without bound.
            raise _reject("subject is continuing as new; retry the request", CONTINUING_AS_NEW)
        same_subject = subject_key(req.job_id, req.user_id) == self._inp.subject_key
        if req.enricher_type != self._inp.enricher_type or not same_subject:
            raise _reject("request is for another subject or enricher type", RejectionType.INVALID_REQUEST)
        policy = req.policy
        if policy.lease_ttl_seconds <= 0 or policy.max_attempts <= 0:
            raise _reject("lease_ttl_seconds and max_attempts must be positive", RejectionType.INVALID_REQUEST)
        if policy.queue_ttl_seconds is not None and policy.queue_ttl_seconds <= 0:
            raise _reject("queue_ttl_seconds must be positive", RejectionType.INVALID_REQUEST)

    @workflow.query
    def active_run_id(self) -> str | None:
        """The newest run (it may since have finished; the run's own ``state`` says)."""
        return self._active_run_id

    def _remember(self, key: str, ref: RunRef) -> None:
        self._recent[key] = ref
        while len(self._recent) > RECENT_REQUESTS_KEPT:
            del self._recent[next(iter(self._recent))]

    def _should_continue_as_new(self) -> bool:
        return self._handled >= self._inp.continue_as_new_after or workflow.info().is_continue_as_new_suggested()


def _request_id() -> str:
    # The Update's id: unique to this request, and the same when its handler runs again.
    update = workflow.current_update_info()
    if update is None:
        raise ApplicationError("request_run must run as an Update handler", non_retryable=True)
    return update.id


def _update_key() -> str:
    """The request's Update id as an implicit idempotency key, carried across continue-as-new.

    Temporal deduplicates an Update id only within one execution: when an Update completes in
    the workflow task that also continues as new, the server can abort the client's wait, and
    the client sends the same Update again, now to the next execution (seen in the burst test
    ``test_a_steady_stream_of_requests_cannot_postpone_continue_as_new``: one request of 16
    started two runs).
    """
    return "update:" + _request_id()


def _request_run_id() -> str:
    """The run id of the request being handled, derived from the request itself.

    Not from the workflow's random stream: the run's workflow is started by a local activity
    before this workflow task is committed, so when the task is lost (a worker restart, a
    timed-out task) the handlers run again, possibly with concurrent requests in another order,
    and each request must still arrive at its own run.
    """
    return str(uuid.uuid5(RUN_ID_NAMESPACE, f"{workflow.info().workflow_id}/{_request_id()}"))


async def _start_run(run_input: EnrichmentRunInput, summary: str) -> None:
    token = _request_id()
    started = await workflow.execute_local_activity(
        EnrichmentActivity.START_RUN,
        StartRunInput(run=run_input, start_token=token, task_queue=workflow.info().task_queue, summary=summary),
        result_type=bool,
        start_to_close_timeout=STORE_TIMEOUT,
        retry_policy=STORE_RETRY,
        summary=f"start run {run_input.run_id}",
    )
    if not started:
        raise _reject(f"run id {run_input.run_id} is already in use", RejectionType.RUN_ID_IN_USE)


async def _start_run_as_child(run_input: EnrichmentRunInput, summary: str) -> None:
    """How runs were started before ``START_RUN_BY_ACTIVITY_PATCH`` (kept for replay)."""
    try:
        child = await workflow.start_child_workflow(
            EnrichmentRunWorkflow.run,
            run_input,
            id=run_workflow_id(run_input.run_id),
            # Runs outlive this workflow's continue-as-new and must never be cancelled by it.
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=summary,
        )
    except WorkflowAlreadyStartedError as err:
        raise _reject(f"run id {run_input.run_id} is already in use", RejectionType.RUN_ID_IN_USE) from err
    # Nobody awaits a run's outcome here (the read model has it); consume it so a
    # terminated run is not reported as an unretrieved task exception.
    child.add_done_callback(_consume_outcome)


def _consume_outcome(task: asyncio.Future[RunSnapshot]) -> None:
    if not task.cancelled():
        task.exception()


async def _supersede(previous_run_id: str, by_run_id: str) -> None:
    handle = workflow.get_external_workflow_handle(run_workflow_id(previous_run_id))
    try:
        await handle.signal(EnrichmentRunWorkflow.supersede, SupersedeInput(by_run_id=by_run_id))
    except FailureError:
        # The previous run already finished (its workflow is closed): nothing left to supersede.
        workflow.logger.info("run %s already closed; not superseded", previous_run_id)


def _pending_snapshot(inp: EnrichmentRunInput) -> RunSnapshot:
    return RunSnapshot(
        run_id=inp.run_id,
        enricher_type=inp.enricher_type,
        subject_key=inp.subject_key,
        job_id=inp.job_id,
        user_id=inp.user_id,
        status=RunStatus.PENDING,
        state_version=0,
        requested_at=inp.requested_at,
        cv_version_id=inp.cv_version_id,
        input_snapshot_path=inp.input_snapshot_path,
        max_attempts=inp.policy.max_attempts,
    )


# --- client side (the gateway) ---------------------------------------------------------


async def request_enrichment_run(client: Client, req: RequestRunInput, *, task_queue: str) -> RunRef:
    """Start the subject's workflow if needed and request a run on it, atomically.

    Update-with-start with ``USE_EXISTING``: whichever of two concurrent requests arrives
    first starts the workflow, the other is delivered to it; neither can start a second one.
    A request turned away because the subject is continuing as new is sent again.
    """
    key = subject_key(req.job_id, req.user_id)
    for attempt in range(CONTINUE_AS_NEW_RETRIES + 1):
        start = WithStartWorkflowOperation(
            EnrichmentSubjectWorkflow.run,
            EnrichmentSubjectInput(
                enricher_type=req.enricher_type, subject_key=key, continue_as_new_after=SUBJECT_CONTINUE_AS_NEW_AFTER
            ),
            id=subject_workflow_id(req.enricher_type, key),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            task_queue=task_queue,
        )
        try:
            return await client.execute_update_with_start_workflow(
                EnrichmentSubjectWorkflow.request_run, req, start_workflow_operation=start
            )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            rolling_over = isinstance(cause, ApplicationError) and cause.type == CONTINUING_AS_NEW
            if not rolling_over or attempt == CONTINUE_AS_NEW_RETRIES:
                raise
            # The subject continues as new within a workflow task or two.
            await asyncio.sleep(min(0.02 * 2**attempt, 0.5))
    raise AssertionError("unreachable")

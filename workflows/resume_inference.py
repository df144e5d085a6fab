"""``ResumeInferenceWorkflow``: one uploaded resume version → one job.

open job → extract text → run the production model → (Cosmos result ‖ blob artifacts) →
finalize job. Every step is an idempotent activity, so Temporal may retry any of them and a
repeated event (same workflow id) starts nothing. Bad input fails the job with the error code
the extractor raised; the workflow then records it in the ledger and fails visibly in the
Temporal Web UI with that code as the failure type.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import (
    RetryPolicy,
    SearchAttributeKey,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

from vitae.contracts import (
    INTERNAL_ERROR,
    ActivityName,
    ArtifactPointers,
    ExtractedDocument,
    ExtractTextInput,
    FinalizeJobInput,
    InferenceInput,
    InferenceOutput,
    JobStatus,
    OpenJobInput,
    OpenJobResult,
    PersistedResult,
    ResumeInferenceInput,
    ResumeInferenceOutcome,
    ResumeResult,
    workflow_id_for_job,
)

# Custom search attributes (registered on the namespace by ``vitae up`` / the test fixture)
# so the Web UI can filter runs by tenant, file, status and model version.
TENANT = SearchAttributeKey.for_keyword("VitaeTenant")
FILE_ID = SearchAttributeKey.for_keyword("VitaeFileId")
JOB_STATUS = SearchAttributeKey.for_keyword("VitaeJobStatus")
MODEL_VERSION = SearchAttributeKey.for_keyword("VitaeModelVersion")


def initial_search_attributes(inp: ResumeInferenceInput) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(TENANT, inp.tenant_id),
            SearchAttributePair(FILE_ID, inp.file_id),
            SearchAttributePair(JOB_STATUS, JobStatus.QUEUED.value),
        ]
    )


# Store calls (ledger, Cosmos, artifacts) are short, idempotent writes, so they run as
# *local* activities: inside the workflow task, without a server round trip each. That took
# ~100 ms off every job's latency (measured: 300 → 160 ms of pure orchestration on the dev
# server). Transient failures (a restarting emulator, a network blip) are retried for a long
# time, because giving up would lose a finished result.
STORE_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))
STORE_TIMEOUT = timedelta(seconds=15)
# Extraction and inference are CPU-bound; a timeout (a worker killed mid-task) is retried,
# bad input is not (the activities raise non-retryable ApplicationErrors with a code).
CPU_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=500), maximum_attempts=4)
CPU_TIMEOUT = timedelta(seconds=30)
# Since this patch, text extraction is a local activity too: a regular activity cost a server
# round trip (schedule, dispatch, start, complete, a new workflow task). Extraction is bounded
# (its own time limit in a process pool), retried the same way, and still shown in the Web UI
# as a marker event with its summary. Executions started before the patch keep a regular one.
LOCAL_EXTRACTION_PATCH = "extraction-as-local-activity"
# Since this one, inference is a local activity as well, so a job after its start is a single
# workflow task. Its output then reaches history only when that task completes, after the
# writes: a worker that dies in between leaves artifacts of a result history never saw, and
# the next attempt runs the model again. The artifact writer replaces such leftovers while
# the ledger has no outcome for the job (activities/blob_storage.py); the Cosmos upsert and
# the ledger were already idempotent. Executions started before the patch keep a regular one.
LOCAL_INFERENCE_PATCH = "inference-as-local-activity"

_Out = TypeVar("_Out")


@workflow.defn
class ResumeInferenceWorkflow:
    def __init__(self) -> None:
        self._status = JobStatus.QUEUED
        self._stage = "queued"

    @workflow.query
    def status(self) -> dict[str, str]:
        return {"status": self._status.value, "stage": self._stage}

    @workflow.run
    async def run(self, inp: ResumeInferenceInput) -> ResumeInferenceOutcome:
        info = workflow.info()
        opened = await workflow.execute_local_activity(
            ActivityName.OPEN_JOB,
            OpenJobInput(
                job_id=inp.job_id,
                tenant_id=inp.tenant_id,
                file_id=inp.file_id,
                blob_url=inp.blob_url,
                etag=inp.etag,
                workflow_id=workflow_id_for_job(inp.job_id),
                trigger=inp.trigger,
                queued_at=info.start_time,
            ),
            result_type=OpenJobResult,
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
            summary="open job in ledger",
        )
        if opened.already_finished:
            # A duplicate delivery after history retention: the ledger already has the outcome.
            self._set_status(opened.status, "already finished")
            return ResumeInferenceOutcome(job_id=inp.job_id, status=opened.status)

        self._set_status(JobStatus.RUNNING, "extracting text")
        try:
            document = await self._extract_text(
                ExtractTextInput(job_id=inp.job_id, tenant_id=inp.tenant_id, blob_url=inp.blob_url)
            )
            self._stage = "running model"
            inference = await self._run_inference(InferenceInput(job_id=inp.job_id, text_uri=document.text_uri))
            self._upsert(MODEL_VERSION.value_set(inference.model_version))
            self._stage = "persisting"
            result = ResumeResult(
                job_id=inp.job_id,
                tenant_id=inp.tenant_id,
                file_id=inp.file_id,
                blob_url=inp.blob_url,
                document=document,
                inference=inference,
                queued_at=info.start_time,
                processed_at=inference.produced_at,
            )
            # The Cosmos document and the blob artifacts are independent writes.
            persisted, artifacts = await asyncio.gather(
                workflow.execute_local_activity(
                    ActivityName.PERSIST_RESULT,
                    result,
                    result_type=PersistedResult,
                    start_to_close_timeout=STORE_TIMEOUT,
                    retry_policy=STORE_RETRY,
                    summary="upsert Cosmos result",
                ),
                workflow.execute_local_activity(
                    ActivityName.WRITE_ARTIFACTS,
                    result,
                    result_type=ArtifactPointers,
                    start_to_close_timeout=STORE_TIMEOUT,
                    retry_policy=STORE_RETRY,
                    summary="write result.json, explanations.json",
                ),
            )
        except (ActivityError, ApplicationError, TimeoutError) as err:
            code, message = _failure_of(err)
            await self._finalize(
                FinalizeJobInput(
                    job_id=inp.job_id,
                    status=JobStatus.FAILED,
                    finished_at=workflow.now(),
                    error_code=code,
                    error_message=message,
                )
            )
            self._set_status(JobStatus.FAILED, f"failed: {code}")
            # Fail the run itself too, so the Web UI shows it red with the code as its type.
            raise ApplicationError(message, type=code, non_retryable=True) from err

        await self._finalize(
            FinalizeJobInput(
                job_id=inp.job_id,
                status=JobStatus.SUCCEEDED,
                finished_at=workflow.now(),
                model_name=inference.model_name,
                model_version=inference.model_version,
                model_deployment=inference.model_deployment,
                page_count=document.page_count,
                text_length=document.text_length,
                cosmos_id=persisted.cosmos_id,
                artifacts=artifacts,
            )
        )
        self._set_status(JobStatus.SUCCEEDED, "done")
        return ResumeInferenceOutcome(
            job_id=inp.job_id,
            status=JobStatus.SUCCEEDED,
            model_version=inference.model_version,
            timings_ms={"extract": document.extract_ms, "inference": inference.inference_ms},
        )

    async def _extract_text(self, extract: ExtractTextInput) -> ExtractedDocument:
        return await self._cpu_step(
            LOCAL_EXTRACTION_PATCH, ActivityName.EXTRACT_TEXT, extract, ExtractedDocument, "download PDF, extract text"
        )

    async def _run_inference(self, inference: InferenceInput) -> InferenceOutput:
        return await self._cpu_step(
            LOCAL_INFERENCE_PATCH, ActivityName.RUN_INFERENCE, inference, InferenceOutput, "run production model"
        )

    async def _cpu_step(self, patch: str, activity: str, arg: object, result_type: type[_Out], summary: str) -> _Out:
        """A CPU-bound step: a local activity since ``patch``, a regular one in older executions."""
        execute: Callable[..., Awaitable[_Out]] = (
            workflow.execute_local_activity if workflow.patched(patch) else workflow.execute_activity
        )
        return await execute(
            activity,
            arg,
            result_type=result_type,
            start_to_close_timeout=CPU_TIMEOUT,
            retry_policy=CPU_RETRY,
            summary=summary,
        )

    async def _finalize(self, done: FinalizeJobInput) -> None:
        await workflow.execute_local_activity(
            ActivityName.FINALIZE_JOB,
            done,
            start_to_close_timeout=STORE_TIMEOUT,
            retry_policy=STORE_RETRY,
            summary=f"finalize job: {done.status.value}",
        )

    def _set_status(self, status: JobStatus, stage: str) -> None:
        self._status = status
        self._stage = stage
        self._upsert(JOB_STATUS.value_set(status.value))
        workflow.set_current_details(f"**{status.value}** · {stage}")

    def _upsert(self, update: SearchAttributeUpdate) -> None:
        # Only where the starter set our attributes, i.e. the namespace has them registered
        # (``vitae up`` registers them); elsewhere (e.g. a bare test server) an unknown
        # attribute would fail every workflow task.
        if TENANT in workflow.info().typed_search_attributes:
            workflow.upsert_search_attributes([update])


def _failure_of(err: ActivityError | ApplicationError | TimeoutError) -> tuple[str, str]:
    """The job's error code and message from a failed activity.

    A regular activity's failure arrives wrapped in an ``ActivityError``; a local activity's
    arrives as the activity's own error (an ``ApplicationError``, or a ``TimeoutError``).
    """
    cause = err.cause if isinstance(err, ActivityError) else err
    # Activities raise non-retryable ApplicationErrors whose type is the job's error code
    # (bad input); anything else that exhausted its retries is an internal error.
    if isinstance(cause, ApplicationError) and cause.non_retryable and cause.type:
        return cause.type, cause.message[:500]
    if isinstance(cause, TimeoutError):
        return "ACTIVITY_TIMEOUT", "a processing step timed out repeatedly"
    kind = cause.type if isinstance(cause, ApplicationError) and cause.type else type(cause).__name__
    return INTERNAL_ERROR, f"{kind}: processing failed after retries"

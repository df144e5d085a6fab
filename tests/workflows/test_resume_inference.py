"""ResumeInferenceWorkflow's orchestration, with the activities faked at their boundary.

Runs on Temporal's time-skipping test server: retries with backoff complete instantly.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from vitae.contracts import (
    ActivityName,
    ArtifactPointers,
    EntityRecord,
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
    ResumeResult,
)
from workflows.resume_inference import ResumeInferenceWorkflow
from workflows.sandbox import workflow_runner

pytestmark = pytest.mark.asyncio(loop_scope="session")

PRODUCED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class FakeActivities:
    """Records calls; ``extract_failures`` transient errors before extraction succeeds."""

    def __init__(
        self, *, extract_error: str | None = None, transient_failures: int = 0, finished: bool = False
    ) -> None:
        self.calls: Counter[str] = Counter()
        self.finalized: list[FinalizeJobInput] = []
        self.extract_error = extract_error
        self.transient_failures = transient_failures
        self.finished = finished

    def all(self) -> list[object]:
        return [
            self.open_job,
            self.extract_text,
            self.run_inference,
            self.persist_result,
            self.write_artifacts,
            self.finalize_job,
        ]

    @activity.defn(name=ActivityName.OPEN_JOB)
    async def open_job(self, inp: OpenJobInput) -> OpenJobResult:
        self.calls["open"] += 1
        if self.finished:
            return OpenJobResult(status=JobStatus.SUCCEEDED, already_finished=True)
        return OpenJobResult(status=JobStatus.RUNNING, already_finished=False)

    @activity.defn(name=ActivityName.EXTRACT_TEXT)
    async def extract_text(self, inp: ExtractTextInput) -> ExtractedDocument:
        self.calls["extract"] += 1
        if self.calls["extract"] <= self.transient_failures:
            raise RuntimeError("blob storage hiccup")
        if self.extract_error:
            raise ApplicationError("bad pdf", type=self.extract_error, non_retryable=True)
        return ExtractedDocument(f"mem://{inp.job_id}/text.txt", 2, 1200, False, "ab" * 32, 5000, 3.0)

    @activity.defn(name=ActivityName.RUN_INFERENCE)
    async def run_inference(self, inp: InferenceInput) -> InferenceOutput:
        self.calls["infer"] += 1
        entity = EntityRecord("NAME", "Ada Lovelace", 0, 12, 1, 0.99, "model")
        return InferenceOutput("vitae-resume-ner", "7", [entity], {"name": "Ada Lovelace"}, 4.0, PRODUCED_AT)

    @activity.defn(name=ActivityName.PERSIST_RESULT)
    async def persist_result(self, result: ResumeResult) -> PersistedResult:
        self.calls["persist"] += 1
        assert result.inference.model_version == "7"
        return PersistedResult(cosmos_id=result.file_id)

    @activity.defn(name=ActivityName.WRITE_ARTIFACTS)
    async def write_artifacts(self, result: ResumeResult) -> ArtifactPointers:
        self.calls["artifacts"] += 1
        # Artifacts are immutable: everything in them must come from history, not the clock
        # of whichever worker (re-)executes this step after a crash.
        assert result.processed_at == PRODUCED_AT
        return ArtifactPointers(f"mem://{result.job_id}/result.json", f"mem://{result.job_id}/explanations.json")

    @activity.defn(name=ActivityName.FINALIZE_JOB)
    async def finalize_job(self, inp: FinalizeJobInput) -> None:
        self.calls["finalize"] += 1
        self.finalized.append(inp)


def _input() -> ResumeInferenceInput:
    job = "job-" + uuid.uuid4().hex
    return ResumeInferenceInput(
        job_id=job, tenant_id="acme", file_id="f1", blob_url="http://x/incoming-resumes/acme/f1.pdf", etag="0x1"
    )


async def _run(env: WorkflowEnvironment, task_queue: str, fakes: FakeActivities) -> object:
    inp = _input()
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[ResumeInferenceWorkflow],
        activities=fakes.all(),
        workflow_runner=workflow_runner(),
    ):
        return await env.client.execute_workflow(
            ResumeInferenceWorkflow.run,
            inp,
            id=f"resume-inference-{inp.job_id}",
            task_queue=task_queue,
            execution_timeout=timedelta(minutes=5),
        )


async def test_success_runs_every_step_once_and_finalizes(
    time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    fakes = FakeActivities()
    outcome = await _run(time_skipping_env, task_queue, fakes)
    assert outcome.status == JobStatus.SUCCEEDED
    assert outcome.model_version == "7"
    assert fakes.calls == Counter(open=1, extract=1, infer=1, persist=1, artifacts=1, finalize=1)
    (final,) = fakes.finalized
    assert final.status == JobStatus.SUCCEEDED and final.model_version == "7"
    assert final.artifacts is not None and final.artifacts.result_uri.endswith("result.json")


async def test_transient_failures_are_retried(time_skipping_env: WorkflowEnvironment, task_queue: str) -> None:
    fakes = FakeActivities(transient_failures=2)
    outcome = await _run(time_skipping_env, task_queue, fakes)
    assert outcome.status == JobStatus.SUCCEEDED
    assert fakes.calls["extract"] == 3


async def test_bad_input_fails_job_with_code_without_retry(
    time_skipping_env: WorkflowEnvironment, task_queue: str
) -> None:
    fakes = FakeActivities(extract_error="PDF_ENCRYPTED")
    with pytest.raises(WorkflowFailureError) as raised:
        await _run(time_skipping_env, task_queue, fakes)
    cause = raised.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "PDF_ENCRYPTED"
    assert fakes.calls["extract"] == 1  # non-retryable: tried once
    assert fakes.calls["infer"] == 0 and fakes.calls["persist"] == 0
    (final,) = fakes.finalized
    assert final.status == JobStatus.FAILED and final.error_code == "PDF_ENCRYPTED"


async def test_already_finished_job_does_nothing(time_skipping_env: WorkflowEnvironment, task_queue: str) -> None:
    fakes = FakeActivities(finished=True)
    outcome = await _run(time_skipping_env, task_queue, fakes)
    assert outcome.status == JobStatus.SUCCEEDED
    assert fakes.calls == Counter(open=1)


async def test_crashing_step_ends_as_internal_error(time_skipping_env: WorkflowEnvironment, task_queue: str) -> None:
    fakes = FakeActivities(transient_failures=100)
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(_run(time_skipping_env, task_queue, fakes), 60)
    assert fakes.calls["extract"] == 4  # CPU_RETRY.maximum_attempts
    (final,) = fakes.finalized
    assert final.status == JobStatus.FAILED and final.error_code == "INTERNAL_ERROR"

"""Data that crosses a Temporal boundary (workflow ↔ activity ↔ client).

One dataclass per workflow/activity input, as in temporalio/samples-python. Only small,
JSON-friendly values go here: blob URIs and stats, never PDF bytes or whole texts (history
events are capped at 2 MB and histories at 50 MB). Kept free of heavy imports because the
workflow sandbox imports this module.

No ``from __future__ import annotations`` here on purpose: Temporal's converter resolves each
dataclass's type hints on every decode, and string annotations cost an ``eval`` per field per
object (a result with a hundred entities decoded 4.5x slower that way).
"""

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import unquote

PIPELINE_VERSION = "resume-inference/1"
WORKFLOW_ID_PREFIX = "resume-inference-"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED)


# Error codes a job can end with besides the PDF ones in ``vitae.pdf_text.ErrorCode``.
INTERNAL_ERROR = "INTERNAL_ERROR"
BLOB_NOT_FOUND = "BLOB_NOT_FOUND"
# An immutable artifact already exists with other content: retrying cannot fix that.
ARTIFACT_CONFLICT = "ARTIFACT_CONFLICT"


def normalise_etag(etag: str) -> str:
    """Event Grid sends ``0x8D…``; the blob SDK returns ``"0x8D…"``: same version."""
    return etag.strip().strip('"')


def job_id_for_blob(blob_url: str, etag: str) -> str:
    """The job for one version of one blob.

    Deterministic so that every duplicate delivery of the same BlobCreated event (Event Grid
    is at-least-once; our local watcher and the upload path both report uploads) maps to the
    same job and the same workflow id, and Temporal refuses to start it twice.
    """
    key = f"{unquote(blob_url).rstrip('/')}|{normalise_etag(etag)}"
    return "job-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def workflow_id_for_job(job_id: str) -> str:
    return WORKFLOW_ID_PREFIX + job_id


@dataclass
class ResumeInferenceInput:
    job_id: str
    tenant_id: str
    file_id: str
    blob_url: str
    etag: str
    # "event" for an upload, "rerun" when a client asked to reprocess the file.
    trigger: str = "event"


@dataclass
class OpenJobInput:
    job_id: str
    tenant_id: str
    file_id: str
    blob_url: str
    etag: str
    workflow_id: str
    trigger: str
    queued_at: datetime


@dataclass
class OpenJobResult:
    status: JobStatus
    # True when this job already ran to the end (e.g. a redelivered event after history
    # retention expired): the workflow then does nothing.
    already_finished: bool


@dataclass
class ExtractTextInput:
    job_id: str
    tenant_id: str
    blob_url: str


@dataclass
class ExtractedDocument:
    text_uri: str
    page_count: int
    text_length: int
    truncated: bool
    pdf_sha256: str
    pdf_bytes: int
    extract_ms: float


@dataclass
class EntityRecord:
    label: str
    text: str
    start: int
    end: int
    line: int
    confidence: float
    source: str


@dataclass
class InferenceInput:
    job_id: str
    text_uri: str


@dataclass
class InferenceOutput:
    model_name: str
    model_version: str
    entities: list[EntityRecord]
    # Entities grouped into the resume shape (contact, experience, education, skills).
    fields: dict[str, Any]
    inference_ms: float
    # When the model produced this output. Recorded in history, so every re-execution of
    # the workflow after a crash builds byte-identical artifacts (workflow.now() would not).
    produced_at: datetime
    # The scoring endpoint's deployment (blue, green...) that served it; None in-process.
    # Defaulted so histories recorded before it existed still decode.
    model_deployment: str | None = None


@dataclass
class ResumeResult:
    """Everything persisted about one successful job; input to the Cosmos and blob writers."""

    job_id: str
    tenant_id: str
    file_id: str
    blob_url: str
    document: ExtractedDocument
    inference: InferenceOutput
    # When the job's workflow started; orders results of one file (newest job wins).
    queued_at: datetime
    processed_at: datetime
    pipeline_version: str = PIPELINE_VERSION


@dataclass
class PersistedResult:
    cosmos_id: str


@dataclass
class ArtifactPointers:
    result_uri: str
    explanations_uri: str


@dataclass
class FinalizeJobInput:
    job_id: str
    status: JobStatus
    finished_at: datetime
    error_code: str | None = None
    error_message: str | None = None
    model_name: str | None = None
    model_version: str | None = None
    model_deployment: str | None = None
    page_count: int | None = None
    text_length: int | None = None
    cosmos_id: str | None = None
    artifacts: ArtifactPointers | None = None


@dataclass
class ResumeInferenceOutcome:
    job_id: str
    status: JobStatus
    model_version: str | None = None
    error_code: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)


class ActivityName:
    """Registered activity names, so workflows can call activities without importing them.

    Activity modules pull in Azure SDKs and onnxruntime; the workflow sandbox must not.
    """

    OPEN_JOB = "ledger.open_job"
    FINALIZE_JOB = "ledger.finalize_job"
    EXTRACT_TEXT = "blob.extract_text"
    WRITE_ARTIFACTS = "blob.write_artifacts"
    RUN_INFERENCE = "model.run_inference"
    PERSIST_RESULT = "cosmos.persist_result"

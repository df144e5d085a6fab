"""Data that crosses a Temporal boundary for enrichment runs (workflow ↔ activity ↔ client).

An enrichment run computes one enricher's output (e.g. ``compatibility.v1``: a 0–100 score and
a summary) for one subject, a (job, user) pair. Runs are leased by offline-capable workers
through the gateway; their state machine lives in ``workflows/enrichment.py`` and is mirrored
into the ``enrichment_runs`` read model. Like ``vitae.contracts``, this module stays free of
heavy imports because the workflow sandbox imports it.
"""

# No ``from __future__ import annotations``: these dataclasses cross the Temporal data
# converter on every update, which resolves their type hints per payload; real annotations
# resolve without evaluating strings (ForwardRef) each time.
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

SUBJECT_WORKFLOW_PREFIX = "enrich-subject-"
RUN_WORKFLOW_PREFIX = "enrich-run-"


class RunStatus(StrEnum):
    # Accepted by the subject workflow; the run's own workflow has not queued it yet.
    PENDING = "pending"
    # Waiting for a worker to lease it (possibly for days: workers may be offline).
    QUEUED = "queued"
    LEASED = "leased"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # A newer run for the same (enricher type, subject) replaced it; its work is refused.
    SUPERSEDED = "superseded"
    # Leases ran out ``max_attempts`` times, or nobody leased it within its queue TTL.
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.SUPERSEDED, RunStatus.EXPIRED})


class RunErrorCode:
    """Error codes a run can end with besides the ones a worker reports through ``fail``."""

    LEASE_EXPIRED = "LEASE_EXPIRED"
    QUEUE_EXPIRED = "QUEUE_EXPIRED"
    SUPERSEDED = "SUPERSEDED"


class RejectionType:
    """``ApplicationError.type`` of a rejected update, so the gateway can map it to a status code."""

    NOT_QUEUED = "RUN_NOT_QUEUED"
    NOT_LEASED = "RUN_NOT_LEASED"
    WRONG_LEASE = "LEASE_TOKEN_MISMATCH"
    LEASE_EXPIRED = "LEASE_EXPIRED"
    INVALID_RESULT = "INVALID_RESULT"
    INVALID_REQUEST = "INVALID_REQUEST"
    RUN_ID_IN_USE = "RUN_ID_IN_USE"


def subject_key(job_id: str, user_id: str) -> str:
    return f"{job_id}:{user_id}"


def subject_workflow_id(enricher_type: str, subject: str) -> str:
    """One long-lived workflow per (enricher type, subject) serialises that subject's requests."""
    return f"{SUBJECT_WORKFLOW_PREFIX}{enricher_type}-{subject}"


def run_workflow_id(run_id: str) -> str:
    return RUN_WORKFLOW_PREFIX + run_id


@dataclass
class RunPolicy:
    """How long a worker may hold a run and how often it may lose it before the run expires."""

    lease_ttl_seconds: int = 300
    max_attempts: int = 3
    # None: a queued run waits for a worker indefinitely (until superseded).
    queue_ttl_seconds: int | None = None


@dataclass
class RequestRunInput:
    """Update ``request_run`` on the subject workflow (sent with update-with-start)."""

    enricher_type: str
    job_id: str
    user_id: str
    cv_version_id: str
    # Blob path of the frozen input the worker reads; never the input itself (payload limits).
    input_snapshot_path: str
    # Optional: the caller's run id (e.g. one it already returned to its client); else generated.
    run_id: str | None = None
    # A repeated request with the same key gets the same run instead of superseding it.
    idempotency_key: str | None = None
    policy: RunPolicy = field(default_factory=RunPolicy)


@dataclass
class RunRef:
    run_id: str
    workflow_id: str
    requested_at: datetime
    # False when an idempotency key matched an earlier request: nothing new was started.
    created: bool = True
    # The subject's previous run, signalled to supersede; a run that had already finished
    # keeps its outcome.
    previous_run_id: str | None = None


@dataclass
class EnrichmentSubjectInput:
    enricher_type: str
    subject_key: str
    # Carried across continue-as-new.
    active_run_id: str | None = None
    recent_requests: dict[str, RunRef] = field(default_factory=dict)
    # Continue-as-new after this many requests even if the server does not suggest it yet.
    continue_as_new_after: int = 500


@dataclass
class EnrichmentRunInput:
    run_id: str
    enricher_type: str
    subject_key: str
    job_id: str
    user_id: str
    cv_version_id: str
    input_snapshot_path: str
    requested_at: datetime
    policy: RunPolicy


@dataclass
class StartRunInput:
    """Activity ``start_run``: start a run's workflow on behalf of its subject's workflow.

    ``start_token`` is unique to the request (its Update's id): it goes into the run workflow's
    memo, so a retried start that finds the workflow already there can tell its own earlier
    attempt from a run id someone else is using.
    """

    run: EnrichmentRunInput
    start_token: str
    task_queue: str
    summary: str


@dataclass
class LeaseRequest:
    worker_id: str


@dataclass
class LeaseGrant:
    """What a worker needs to do the work, and the token that proves it still owns it."""

    run_id: str
    lease_token: str
    lease_until: datetime
    attempt: int
    enricher_type: str
    job_id: str
    user_id: str
    cv_version_id: str
    input_snapshot_path: str


@dataclass
class HeartbeatRequest:
    lease_token: str


@dataclass
class CompleteRequest:
    lease_token: str
    score: float
    summary: str


@dataclass
class FailRequest:
    lease_token: str
    error_code: str
    error_message: str = ""
    # A transient failure returns the run to the queue while attempts remain.
    retryable: bool = False


@dataclass
class SupersedeInput:
    by_run_id: str


@dataclass
class RunSnapshot:
    """One run's full state: the record activity's input and a read-model row.

    ``state_version`` grows with every transition; the store only applies a snapshot newer
    than what it holds, so a retried or late activity never moves a row backwards.
    """

    run_id: str
    enricher_type: str
    subject_key: str
    job_id: str
    user_id: str
    status: RunStatus
    state_version: int
    requested_at: datetime
    cv_version_id: str
    input_snapshot_path: str
    attempt: int = 0
    max_attempts: int = 0
    queued_at: datetime | None = None
    leased_at: datetime | None = None
    lease_until: datetime | None = None
    lease_token: str | None = None
    worker_id: str | None = None
    finished_at: datetime | None = None
    score: float | None = None
    summary: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    superseded_by: str | None = None


class EnrichmentActivity:
    """Registered activity names, so workflows call activities without importing them."""

    RECORD_RUN = "enrichment.record_run"
    START_RUN = "enrichment.start_run"

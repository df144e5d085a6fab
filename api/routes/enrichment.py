"""``/v1/enrichment``: request enrichment runs and read their outcome (tenant side), plus the
Core's gateway-only result endpoints.

Shapes meant for a UI widget: ``.../subjects/{jobId}/{userId}/latest`` always answers with the
newest run whatever its status (queued, running, failed…), ``.../history`` pages older runs on
demand, ``.../rerun`` asks for a fresh run with the same job text.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from api.deps import TenantId
from vitae.enrichment_contracts import CompleteRequest, FailRequest, RunSnapshot
from vitae.enrichment_core import DEFAULT_ENRICHER, CoreError, CreatedRun, EnrichmentCore
from vitae.stores.worker_keys import WorkerIdentity

router = APIRouter(prefix="/v1/enrichment", tags=["enrichment"])

# Caller ids end up in workflow ids and the "{jobId}:{userId}" subject key: no ':' or '/'.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
ENRICHER_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"


def _core(request: Request) -> EnrichmentCore:
    core: EnrichmentCore = request.app.state.enrichment
    return core


Core = Annotated[EnrichmentCore, Depends(_core)]
JobIdPath = Annotated[str, Path(pattern=ID_PATTERN)]
UserIdPath = Annotated[str, Path(pattern=ID_PATTERN)]
EnricherQuery = Annotated[str, Query(alias="enricherType", pattern=ENRICHER_PATTERN)]
IdempotencyKey = Annotated[str | None, Header(max_length=200)]


def http_error(err: CoreError) -> HTTPException:
    return HTTPException(err.status, detail={"code": err.code, "message": err.message})


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class JobText(_Body):
    title: str = Field(min_length=1, max_length=500)
    description: str = Field(max_length=50_000)


class CreateRunBody(_Body):
    enricher_type: str = Field(default=DEFAULT_ENRICHER, pattern=ENRICHER_PATTERN)
    job_id: str = Field(pattern=ID_PATTERN)
    user_id: str = Field(pattern=ID_PATTERN)
    cv_version_id: str = Field(min_length=1, max_length=100)
    job: JobText
    trigger: Literal["job_created", "rerun"] = "job_created"


class RerunBody(_Body):
    enricher_type: str = Field(default=DEFAULT_ENRICHER, pattern=ENRICHER_PATTERN)
    # A newer CV version to use; by default the latest run's.
    cv_version_id: str | None = Field(default=None, min_length=1, max_length=100)


class CompleteBody(_Body):
    lease_token: str = Field(min_length=1, max_length=100)
    score: float
    summary: str


class FailBody(_Body):
    lease_token: str = Field(min_length=1, max_length=100)
    error_code: str = Field(min_length=1, max_length=100)
    error_message: str = Field(default="", max_length=2000)
    retryable: bool = False


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def run_view(run: RunSnapshot) -> dict[str, Any]:
    """The public shape of a run. Never the lease token or the worker's identity."""
    return {
        "runId": run.run_id,
        "enricherType": run.enricher_type,
        "jobId": run.job_id,
        "userId": run.user_id,
        "cvVersionId": run.cv_version_id,
        "status": run.status.value,
        "attempt": run.attempt,
        "maxAttempts": run.max_attempts,
        "requestedAt": _iso(run.requested_at),
        "queuedAt": _iso(run.queued_at),
        "leasedAt": _iso(run.leased_at),
        "leaseUntil": _iso(run.lease_until),
        "finishedAt": _iso(run.finished_at),
        "result": {"score": run.score, "summary": run.summary} if run.score is not None else None,
        "error": {"code": run.error_code, "message": run.error_message} if run.error_code else None,
        "supersededBy": run.superseded_by,
    }


def _subject_links(enricher_type: str, job_id: str, user_id: str) -> dict[str, str]:
    base = f"/v1/enrichment/subjects/{job_id}/{user_id}"
    return {
        "latest": f"{base}/latest?enricherType={enricher_type}",
        "history": f"{base}/history?enricherType={enricher_type}",
        "rerun": f"{base}/rerun",
    }


def _created_view(created: CreatedRun) -> dict[str, Any]:
    run = created.run
    return {
        "runId": run.run_id,
        "created": created.created,
        "previousRunId": created.previous_run_id,
        "run": run_view(run),
        "links": _subject_links(run.enricher_type, run.job_id, run.user_id),
    }


@router.post("/runs", status_code=status.HTTP_202_ACCEPTED)
async def create_run(
    body: CreateRunBody, tenant: TenantId, core: Core, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """Request a run for a (job, user) subject: supersedes the subject's active run, freezes
    the input snapshot and queues the run for a worker. With an ``Idempotency-Key`` header,
    repeating the request returns the same run."""
    try:
        created = await core.create_run(
            tenant,
            enricher_type=body.enricher_type,
            job_id=body.job_id,
            user_id=body.user_id,
            cv_version_id=body.cv_version_id,
            job_title=body.job.title,
            job_description=body.job.description,
            idempotency_key=idempotency_key,
            trigger=body.trigger,
        )
    except CoreError as err:
        raise http_error(err) from err
    return _created_view(created)


@router.get("/runs/{run_id}")
async def get_run(run_id: Annotated[str, Path(max_length=100)], tenant: TenantId, core: Core) -> dict[str, Any]:
    try:
        return run_view(await core.tenant_run(tenant, run_id))
    except CoreError as err:
        raise http_error(err) from err


@router.get("/subjects/{job_id}/{user_id}/latest")
async def latest_run(
    job_id: JobIdPath,
    user_id: UserIdPath,
    tenant: TenantId,
    core: Core,
    enricher_type: EnricherQuery = DEFAULT_ENRICHER,
) -> dict[str, Any]:
    """The subject's newest run in any status (a failed or running one too)."""
    try:
        run = await core.latest(tenant, enricher_type, job_id, user_id)
    except CoreError as err:
        raise http_error(err) from err
    return {"run": run_view(run), "links": _subject_links(enricher_type, job_id, user_id)}


@router.get("/subjects/{job_id}/{user_id}/history")
async def run_history(
    job_id: JobIdPath,
    user_id: UserIdPath,
    tenant: TenantId,
    core: Core,
    enricher_type: EnricherQuery = DEFAULT_ENRICHER,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """The subject's runs, newest first; pass ``nextCursor`` back as ``cursor`` for older ones."""
    try:
        page = await core.history(tenant, enricher_type, job_id, user_id, limit=limit, cursor=cursor)
    except CoreError as err:
        raise http_error(err) from err
    return {"items": [run_view(r) for r in page.runs], "nextCursor": page.next_cursor}


@router.post("/subjects/{job_id}/{user_id}/rerun", status_code=status.HTTP_202_ACCEPTED)
async def rerun(
    job_id: JobIdPath,
    user_id: UserIdPath,
    tenant: TenantId,
    core: Core,
    body: RerunBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """A user's rerun: a new run with the latest run's job text (and CV, unless a newer one is given)."""
    body = body or RerunBody()
    try:
        created = await core.rerun(
            tenant,
            enricher_type=body.enricher_type,
            job_id=job_id,
            user_id=user_id,
            cv_version_id=body.cv_version_id,
            idempotency_key=idempotency_key,
        )
    except CoreError as err:
        raise http_error(err) from err
    return _created_view(created)


# --- gateway-only -------------------------------------------------------------------------


async def _gateway(
    core: Core,
    authorization: Annotated[str | None, Header()] = None,
    x_gateway_key: Annotated[str | None, Header()] = None,
) -> WorkerIdentity:
    key = x_gateway_key
    if key is None and authorization and authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()
    identity = await core.worker_keys.authenticate(key) if key else None
    if identity is None or identity.role != "gateway":
        # Tenant keys and worker keys alike: only the gateway forwards results.
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid gateway key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return identity


Gateway = Annotated[WorkerIdentity, Depends(_gateway)]


@router.post("/runs/{run_id}/complete")
async def complete_run(
    run_id: Annotated[str, Path(max_length=100)], body: CompleteBody, _: Gateway, core: Core
) -> dict[str, Any]:
    """Apply a worker's result (gateway only; the gateway has checked the worker's scope)."""
    request = CompleteRequest(lease_token=body.lease_token, score=body.score, summary=body.summary)
    try:
        return run_view(await core.complete(run_id, request, None))
    except CoreError as err:
        raise http_error(err) from err


@router.post("/runs/{run_id}/fail")
async def fail_run(
    run_id: Annotated[str, Path(max_length=100)], body: FailBody, _: Gateway, core: Core
) -> dict[str, Any]:
    request = FailRequest(
        lease_token=body.lease_token,
        error_code=body.error_code,
        error_message=body.error_message,
        retryable=body.retryable,
    )
    try:
        return run_view(await core.fail(run_id, request, None))
    except CoreError as err:
        raise http_error(err) from err

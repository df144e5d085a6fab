"""``/work``: what enrichment workers call. Workers hold only a worker key: no database, no
blob account access; the input arrives inline or as a read-only SAS URL for that one blob
that expires with the lease.

Every call is checked against the worker key's enricher types (403), the run's existence
(404), whether it has finished (410) and whether it is still its subject's latest run (409);
the run workflow then accepts or rejects it (409 for a stale lease token, 422 for an invalid
result). A rejected call changes nothing, so a worker that was offline can never apply stale
work.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Response, status
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from vitae.enrichment_contracts import CompleteRequest, FailRequest, RunSnapshot
from vitae.enrichment_core import CoreError, Lease
from vitae.stores.worker_keys import WorkerIdentity
from worker_gateway.deps import Services, Worker

router = APIRouter(prefix="/work", tags=["work"])

_RUN_ID = Field(min_length=1, max_length=100)
_TOKEN = Field(min_length=1, max_length=100)


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class LeaseBody(_Body):
    # The worker instance (a host or process name): recorded on the run with the key id.
    worker_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
    # Defaults to every type the key may work on.
    enricher_types: list[str] | None = Field(default=None, min_length=1, max_length=20)
    # Lease this run instead of the longest-waiting one.
    run_id: str | None = Field(default=None, min_length=1, max_length=100)
    wait_seconds: float = Field(default=10.0, ge=0)
    input: Literal["url", "inline"] = "url"


class HeartbeatBody(_Body):
    run_id: str = _RUN_ID
    lease_token: str = _TOKEN


class CompleteBody(_Body):
    run_id: str = _RUN_ID
    lease_token: str = _TOKEN
    score: float
    summary: str


class FailBody(_Body):
    run_id: str = _RUN_ID
    lease_token: str = _TOKEN
    error_code: str = Field(min_length=1, max_length=100)
    error_message: str = Field(default="", max_length=2000)
    # True: a transient failure, the run goes back to the queue while attempts remain.
    retryable: bool = False


def _error(err: CoreError) -> HTTPException:
    return HTTPException(err.status, detail={"code": err.code, "message": err.message})


def _worker_label(worker: WorkerIdentity, instance: str) -> str:
    return f"{worker.key_id}/{instance}"


def _lease_view(lease: Lease) -> dict[str, Any]:
    grant = lease.grant
    return {
        "runId": grant.run_id,
        "leaseToken": grant.lease_token,
        "leaseUntil": grant.lease_until.isoformat(),
        "attempt": grant.attempt,
        "enricherType": grant.enricher_type,
        "jobId": grant.job_id,
        "userId": grant.user_id,
        "cvVersionId": grant.cv_version_id,
        "input": {"url": lease.input_url, "expiresAt": lease.input_url_expires_at.isoformat()},
    }


def _outcome_view(run: RunSnapshot) -> dict[str, Any]:
    return {"runId": run.run_id, "status": run.status.value, "attempt": run.attempt}


def _json(view: dict[str, Any]) -> Response:
    # Views are plain JSON values already: encoding them directly skips FastAPI's validation
    # and jsonable_encoder walk of the return value (the inline snapshot is most of a lease
    # answer), which workers pay for on every call.
    return Response(json.dumps(view, ensure_ascii=False, separators=(",", ":")), media_type="application/json")


@router.post("/lease", responses={204: {"description": "no work arrived while waiting"}})
async def lease(body: Annotated[LeaseBody, Body()], worker: Worker, services: Services) -> Response:
    """Lease a queued run of the key's enricher types (or the named run), waiting up to
    ``waitSeconds`` for one. Answers 204 when none came: ask again."""
    wanted = set(body.enricher_types or worker.enricher_types)
    if not wanted <= worker.enricher_types:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail={"code": "ENRICHER_TYPE_FORBIDDEN", "message": "this key may not lease these enricher types"},
        )
    core = services.core
    label = _worker_label(worker, body.worker_id)
    try:
        if body.run_id is not None:
            granted: Lease | None = await core.lease(body.run_id, label, wanted)
        else:
            wait = min(body.wait_seconds, services.max_wait_seconds)
            granted = await core.lease_next(
                label,
                wanted,
                wait_seconds=wait,
                poll_seconds=services.poll_seconds,
                prefetch_input=body.input == "inline",
            )
    except CoreError as err:
        raise _error(err) from err
    if granted is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    view = _lease_view(granted)
    if body.input == "inline":
        # Small snapshots save the worker a second round trip; big ones stay URL-only.
        raw = granted.input_bytes
        if raw is None:
            raw = await core.blobs.download(core.container, granted.grant.input_snapshot_path)
        if len(raw) <= services.inline_input_max_bytes:
            view["input"]["inline"] = json.loads(raw)
    return _json(view)


@router.post("/heartbeat")
async def heartbeat(body: HeartbeatBody, worker: Worker, services: Services) -> Response:
    """Extend the lease (and get a fresh input URL that lasts as long)."""
    try:
        renewed = await services.core.heartbeat(body.run_id, body.lease_token, worker.enricher_types)
    except CoreError as err:
        raise _error(err) from err
    view = _lease_view(renewed)
    return _json({k: view[k] for k in ("runId", "leaseUntil", "attempt", "input")})


@router.post("/complete")
async def complete(body: CompleteBody, worker: Worker, services: Services) -> Response:
    request = CompleteRequest(lease_token=body.lease_token, score=body.score, summary=body.summary)
    try:
        return _json(_outcome_view(await services.core.complete(body.run_id, request, worker.enricher_types)))
    except CoreError as err:
        raise _error(err) from err


@router.post("/fail")
async def fail(body: FailBody, worker: Worker, services: Services) -> Response:
    request = FailRequest(
        lease_token=body.lease_token,
        error_code=body.error_code,
        error_message=body.error_message,
        retryable=body.retryable,
    )
    try:
        return _json(_outcome_view(await services.core.fail(body.run_id, request, worker.enricher_types)))
    except CoreError as err:
        raise _error(err) from err

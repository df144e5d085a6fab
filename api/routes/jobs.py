"""``/v1/jobs``: the inference job ledger, as its tenant sees it."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from api.deps import Services, TenantId
from vitae.stores.blob import BlobStore

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


async def job_view(row: dict[str, Any], blobs: BlobStore, sas_ttl: timedelta) -> dict[str, Any]:
    """The public shape of a job; artifact links are short-lived read-only SAS URLs."""
    artifacts: dict[str, Any] | None = None
    if row["status"] == "succeeded" and row["result_uri"]:
        links = {}
        for kind, uri in (("result", row["result_uri"]), ("explanations", row["explanations_uri"])):
            where = blobs.locate(uri)
            links[kind] = await blobs.read_sas_url(where.container, where.name, sas_ttl)
        artifacts = {**links, "expiresInSeconds": int(sas_ttl.total_seconds())}

    def iso(key: str) -> str | None:
        value = row.get(key)
        return value.isoformat() if value else None

    return {
        "jobId": row["job_id"],
        "fileId": row["file_id"],
        "status": row["status"],
        "trigger": row["trigger"],
        "workflowId": row["workflow_id"],
        "attempts": row["attempts"],
        "queuedAt": iso("queued_at"),
        "startedAt": iso("started_at"),
        "finishedAt": iso("finished_at"),
        "durationMs": row["duration_ms"],
        "model": _model(row),
        "pageCount": row["page_count"],
        "textLength": row["text_length"],
        "error": {"code": row["error_code"], "message": row["error_message"]} if row["error_code"] else None,
        "artifacts": artifacts,
    }


def _model(row: dict[str, Any]) -> dict[str, str] | None:
    # The same shape as the result document's "model" (vitae/resume_document.py).
    if not row["model_version"]:
        return None
    model = {"name": row["model_name"], "version": row["model_version"]}
    if row.get("model_deployment"):
        model["deployment"] = row["model_deployment"]
    return model


_FINISHED = ("succeeded", "failed")
MAX_WAIT_SECONDS = 30.0


@router.get("/{job_id}")
async def get_job(
    job_id: str,
    tenant: TenantId,
    services: Services,
    wait: Annotated[
        float,
        Query(
            ge=0,
            le=MAX_WAIT_SECONDS,
            description="Long-poll: hold the request up to this many seconds until the job has finished.",
        ),
    ] = 0,
) -> dict[str, Any]:
    row = await services.ledger.get_job(tenant, job_id)
    if row is None:  # unknown and other tenants' jobs look the same
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="job not found")
    if wait and row["status"] not in _FINISHED:
        async with services.job_events.watch(job_id) as finished:
            # Re-read after registering: a finish in between is then never missed.
            row = await services.ledger.get_job(tenant, job_id) or row
            if row["status"] not in _FINISHED:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(finished, wait)
                row = await services.ledger.get_job(tenant, job_id) or row
    return await job_view(row, services.blobs, timedelta(seconds=services.settings.sas_ttl_seconds))

"""``/v1/resumes``: upload resumes, read their latest result, search, reprocess."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from fastapi import APIRouter, File, Header, HTTPException, Query, UploadFile, status

from api.deps import Services, TenantId
from api.routes.jobs import job_view
from model_runtime.structure import normalize_skill
from vitae.blob_events import blob_created_event
from vitae.contracts import ResumeInferenceInput, job_id_for_blob, workflow_id_for_job
from vitae.ingestion import incoming_blob_name, start_inference

router = APIRouter(prefix="/v1/resumes", tags=["resumes"])
log = logging.getLogger("vitae.api")

_CHUNK = 1 << 20


@router.post("", status_code=status.HTTP_202_ACCEPTED)
async def upload_resume(
    file: Annotated[UploadFile, File(description="The resume, a PDF")],
    tenant: TenantId,
    services: Services,
) -> dict[str, Any]:
    """Store the PDF in ``incoming-resumes/<tenant>/<fileId>.pdf`` and queue its job.

    Processing is asynchronous: poll the returned job (or the resume) for the result. Bad
    PDFs are accepted here and end as failed jobs with an error code, so nothing is lost.
    """
    settings = services.settings
    limit = settings.max_upload_bytes
    too_large = HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=f"file exceeds {limit} bytes")
    if file.size is not None and file.size > limit:
        raise too_large
    # Hash and measure the spooled upload ourselves: a client's declared size is not trusted.
    digest = hashlib.sha256()
    size = 0
    while chunk := await file.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if size > limit:
            raise too_large
    await file.seek(0)
    file_id = uuid.uuid4().hex
    name = incoming_blob_name(tenant, file_id)
    original = (file.filename or "resume.pdf")[-255:]
    etag = await services.blobs.upload(
        settings.incoming_container,
        name,
        file.file,  # streamed from the spooled upload
        content_type=file.content_type or "application/pdf",
        metadata={
            "tenant": tenant,
            "fileid": file_id,
            "sha256": digest.hexdigest(),
            # Metadata is ASCII-only; keep the original name percent-encoded.
            "originalname": quote(original),
        },
        overwrite=False,
    )
    url = services.blobs.url_for(settings.incoming_container, name)
    await services.ledger.record_file(
        file_id=file_id,
        tenant_id=tenant,
        container=settings.incoming_container,
        key=name,
        blob_url=url,
        sha256=digest.hexdigest(),
        size_bytes=size,
        original_name=original,
        content_type=file.content_type,
        source="api",
    )
    job_id = job_id_for_blob(url, etag)
    await services.ledger.enqueue_job(
        job_id=job_id,
        file_id=file_id,
        tenant_id=tenant,
        workflow_id=workflow_id_for_job(job_id),
        trigger="event",
        blob_url=url,
        etag=etag,
        queued_at=datetime.now(UTC),
    )
    if settings.emit_local_events:
        await _emit_blob_created(services, url=url, etag=etag, size=size, content_type=file.content_type, name=name)
    return {
        "fileId": file_id,
        "jobId": job_id,
        "status": "queued",
        "links": {"job": f"/v1/jobs/{job_id}", "resume": f"/v1/resumes/{file_id}"},
    }


async def _emit_blob_created(
    services: Services, *, url: str, etag: str, size: int, content_type: str | None, name: str
) -> None:
    """Locally, play Event Grid: deliver the BlobCreated event to the bridge's webhook.

    In Azure this is off and Event Grid delivers the event. A failed delivery is not an
    error here: the blob watcher notices the blob and delivers the same event again.
    """
    settings = services.settings
    event = blob_created_event(
        url=url,
        etag=etag,
        content_length=size,
        content_type=content_type or "application/pdf",
        topic="/local/storageAccounts/azurite",
        subject=f"/blobServices/default/containers/{settings.incoming_container}/blobs/{name}",
    )
    try:
        response = await services.event_http.post(
            settings.bridge_url,
            json=[event],
            headers={
                "aeg-event-type": "Notification",
                "x-vitae-event-secret": settings.event_secret.get_secret_value(),
            },
        )
        response.raise_for_status()
    except httpx.HTTPError as err:
        log.warning("local BlobCreated delivery failed (the watcher will retry): %s", type(err).__name__)


@router.get("/{file_id}")
async def get_resume(file_id: str, tenant: TenantId, services: Services) -> dict[str, Any]:
    """The file, its latest job and its latest successful result."""
    record = await services.ledger.get_file(tenant, file_id)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="resume not found")
    latest = await services.ledger.latest_job_for_file(tenant, file_id)
    ttl = timedelta(seconds=services.settings.sas_ttl_seconds)
    return {
        "fileId": file_id,
        "originalName": record["original_name"],
        "sha256": record["sha256"],
        "sizeBytes": record["size_bytes"],
        "uploadedAt": record["created_at"].isoformat(),
        "latestJob": await job_view(latest, services.blobs, ttl) if latest else None,
        "result": await services.results.get(tenant, file_id),
    }


@router.get("")
async def search_resumes(
    tenant: TenantId,
    services: Services,
    skill: Annotated[str, Query(min_length=1, max_length=100, description="A skill, case-insensitive")],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    # Same normalisation as the stored skillsNormalized ("k8s" finds "kubernetes").
    items = await services.results.find_by_skill(tenant, normalize_skill(skill), limit)
    return {"skill": skill, "count": len(items), "items": items}


@router.post("/{file_id}/reprocess", status_code=status.HTTP_202_ACCEPTED)
async def reprocess_resume(
    file_id: str,
    tenant: TenantId,
    services: Services,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """Run the pipeline again on the stored PDF (e.g. after a model promotion): a new job.

    With an ``Idempotency-Key`` header, repeating the request returns the same job.
    """
    record = await services.ledger.get_file(tenant, file_id)
    latest = await services.ledger.latest_job_for_file(tenant, file_id)
    if record is None or latest is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="resume not found")
    nonce = idempotency_key or uuid.uuid4().hex
    job_id = "job-" + hashlib.sha256(f"{tenant}|{file_id}|rerun|{nonce}".encode()).hexdigest()[:32]
    inp = ResumeInferenceInput(
        job_id=job_id,
        tenant_id=tenant,
        file_id=file_id,
        blob_url=record["blob_url"],
        etag=latest["blob_etag"],
        trigger="rerun",
    )
    await services.ledger.enqueue_job(
        job_id=job_id,
        file_id=file_id,
        tenant_id=tenant,
        workflow_id=workflow_id_for_job(job_id),
        trigger="rerun",
        blob_url=inp.blob_url,
        etag=inp.etag,
        queued_at=datetime.now(UTC),
    )
    started = await start_inference(services.temporal, services.settings.temporal_task_queue, inp)
    return {
        "fileId": file_id,
        "jobId": job_id,
        "status": "queued",
        "duplicate": not started,
        "links": {"job": f"/v1/jobs/{job_id}"},
    }

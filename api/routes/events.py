"""``/v1/events/blob``: the Event Grid webhook that turns BlobCreated events into workflows.

Stateless and fast: it validates the delivery, authenticates the sender with the shared
secret, and starts one workflow per new blob version. The workflow id is derived from the
blob URL and eTag, so Event Grid's at-least-once redeliveries start nothing new.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response, status
from temporalio.client import Client
from temporalio.service import RPCError

from vitae.blob_events import BlobCreated, EventValidationError, parse_delivery
from vitae.ingestion import job_input_for_blob, parse_incoming_name, start_inference
from vitae.settings import Settings
from vitae.stores.blob import BlobStore

router = APIRouter(prefix="/v1/events", tags=["events"])
log = logging.getLogger("vitae.bridge")

_MAX_BODY = 1 << 20


@dataclass
class BridgeServices:
    settings: Settings
    temporal: Client
    blobs: BlobStore


def _authenticate(settings: Settings, header_secret: str | None, query_code: str | None) -> None:
    # Event Grid can send the secret as a delivery header or in the webhook URL's query.
    supplied = header_secret or query_code or ""
    expected = settings.event_secret.get_secret_value()
    if not hmac.compare_digest(supplied.encode(), expected.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="invalid event secret")


@router.options("/blob")
async def cloudevents_handshake(
    webhook_request_origin: Annotated[str | None, Header()] = None,
) -> Response:
    """CloudEvents 1.0 abuse-protection handshake used by Event Grid for CloudEvents schema."""
    headers = {"WebHook-Allowed-Origin": webhook_request_origin or "*", "WebHook-Allowed-Rate": "*"}
    return Response(status_code=200, headers=headers)


@router.post("/blob")
async def blob_events(
    request: Request,
    x_vitae_event_secret: Annotated[str | None, Header()] = None,
    code: Annotated[str | None, Query()] = None,
) -> dict[str, Any]:
    services: BridgeServices = request.app.state.bridge
    _authenticate(services.settings, x_vitae_event_secret, code)
    raw = await request.body()
    if len(raw) > _MAX_BODY:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail="delivery too large")
    try:
        delivery = parse_delivery(json.loads(raw))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="body is not JSON") from None
    except EventValidationError as err:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(err)) from None
    if delivery.validation_code is not None:
        # Event Grid subscription handshake: echo the code back.
        return {"validationResponse": delivery.validation_code}
    assert delivery.created is not None
    outcomes = await asyncio.gather(*(_start(services, event) for event in delivery.created))
    return {
        "started": outcomes.count("started"),
        "duplicates": outcomes.count("duplicate"),
        "ignored": delivery.ignored + outcomes.count("ignored"),
    }


async def _start(services: BridgeServices, event: BlobCreated) -> str:
    settings = services.settings
    try:
        where = services.blobs.locate(event.url)
    except ValueError:
        log.warning("ignored event %s: blob is not in this storage account", event.event_id)
        return "ignored"
    if where.container != settings.incoming_container:
        return "ignored"
    blob = parse_incoming_name(where.name)
    if blob is None:
        log.warning("ignored event %s: blob name has no tenant prefix", event.event_id)
        return "ignored"
    try:
        started = await start_inference(
            services.temporal, settings.temporal_task_queue, job_input_for_blob(event.url, event.etag, blob)
        )
    except RPCError as err:
        # Temporal unavailable: answer 503 so Event Grid redelivers later; nothing is lost.
        log.error("could not start workflow for event %s: %s", event.event_id, err.status)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail="orchestrator unavailable") from None
    return "started" if started else "duplicate"

"""The BlobCreated events the bridge accepts, in Event Grid schema and CloudEvents 1.0.

``azure.eventgrid`` parses these payloads but accepts garbage silently, so every field the
bridge relies on is validated here, and anything malformed is an ``EventValidationError``
(the webhook answers 400 and Event Grid dead-letters it rather than retrying forever).
This module also *builds* real-shaped BlobCreated events for the local stack, where Azurite
emits none.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

BLOB_CREATED = "Microsoft.Storage.BlobCreated"
SUBSCRIPTION_VALIDATION = "Microsoft.EventGrid.SubscriptionValidationEvent"
# Storage operations that create a new blob version. Others (e.g. metadata changes) and
# other event types are ignored: only new uploads trigger inference.
CREATING_APIS = frozenset({"PutBlob", "PutBlockList", "CopyBlob", "FlushWithClose", "PutBlobFromUrl"})

_ETAG = re.compile(r'^"?0x[0-9A-Fa-f]{1,32}"?$')
_MAX_EVENTS = 500


class EventValidationError(ValueError):
    pass


@dataclass(frozen=True)
class BlobCreated:
    event_id: str
    url: str
    etag: str
    api: str
    content_length: int
    content_type: str


@dataclass
class Delivery:
    validation_code: str | None = None
    created: list[BlobCreated] | None = None
    ignored: int = 0


def _str(obj: dict[str, Any], key: str, *, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise EventValidationError(f"{where}: '{key}' must be a non-empty string")
    return value


def _blob_created(event_id: str, data: Any) -> BlobCreated | None:
    if not isinstance(data, dict):
        raise EventValidationError(f"event {event_id}: 'data' must be an object")
    api = _str(data, "api", where=f"event {event_id}")
    if api not in CREATING_APIS:
        return None
    url = _str(data, "url", where=f"event {event_id}")
    if not url.startswith(("https://", "http://")) or len(url) > 2048:
        raise EventValidationError(f"event {event_id}: 'url' is not a blob URL")
    etag = _str(data, "eTag", where=f"event {event_id}")
    if not _ETAG.match(etag):
        raise EventValidationError(f"event {event_id}: 'eTag' is malformed")
    length = data.get("contentLength", 0)
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        raise EventValidationError(f"event {event_id}: 'contentLength' must be a non-negative integer")
    content_type = data.get("contentType") or ""
    if not isinstance(content_type, str):
        raise EventValidationError(f"event {event_id}: 'contentType' must be a string")
    return BlobCreated(event_id, url, etag.strip('"'), api, length, content_type)


def parse_delivery(body: Any) -> Delivery:
    """Validate one webhook delivery (a batch of events, or one CloudEvent)."""
    events = body if isinstance(body, list) else [body]
    if not events or len(events) > _MAX_EVENTS:
        raise EventValidationError(f"a delivery holds 1..{_MAX_EVENTS} events")
    delivery = Delivery(created=[])
    assert delivery.created is not None
    for event in events:
        if not isinstance(event, dict):
            raise EventValidationError("each event must be a JSON object")
        event_id = _str(event, "id", where="event")
        if "specversion" in event:  # CloudEvents 1.0
            if event["specversion"] != "1.0":
                raise EventValidationError(f"event {event_id}: unsupported CloudEvents specversion")
            event_type = _str(event, "type", where=f"event {event_id}")
            _str(event, "source", where=f"event {event_id}")
        else:  # Event Grid schema
            event_type = _str(event, "eventType", where=f"event {event_id}")
            # Real validation events carry an empty subject, so only its type is checked.
            if not isinstance(event.get("subject"), str):
                raise EventValidationError(f"event {event_id}: 'subject' must be a string")
            if not isinstance(event.get("dataVersion", ""), str):
                raise EventValidationError(f"event {event_id}: 'dataVersion' must be a string")
        if event_type == SUBSCRIPTION_VALIDATION:
            data = event.get("data")
            if not isinstance(data, dict):
                raise EventValidationError("validation event without data")
            delivery.validation_code = _str(data, "validationCode", where="validation event")
            continue
        if event_type != BLOB_CREATED:
            delivery.ignored += 1
            continue
        created = _blob_created(event_id, event.get("data"))
        if created is None:
            delivery.ignored += 1
        else:
            delivery.created.append(created)
    return delivery


def blob_created_event(
    *, url: str, etag: str, content_length: int, content_type: str, topic: str, subject: str, api: str = "PutBlob"
) -> dict[str, Any]:
    """A BlobCreated event in Event Grid schema, shaped as Azure Storage sends it."""
    return {
        "id": str(uuid.uuid4()),
        "topic": topic,
        "subject": subject,
        "eventType": BLOB_CREATED,
        "eventTime": datetime.now(UTC).isoformat(),
        "dataVersion": "",
        "metadataVersion": "1",
        "data": {
            "api": api,
            "clientRequestId": str(uuid.uuid4()),
            "requestId": str(uuid.uuid4()),
            "eTag": etag,
            "contentType": content_type,
            "contentLength": content_length,
            "blobType": "BlockBlob",
            "url": url,
            "sequencer": f"{int(datetime.now(UTC).timestamp() * 1e6):032x}",
            "storageDiagnostics": {"batchId": str(uuid.uuid4())},
        },
    }

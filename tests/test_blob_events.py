"""The bridge's event validation and the incoming-blob naming rules (pure, fast)."""

from __future__ import annotations

import pytest

from vitae.blob_events import EventValidationError, blob_created_event, parse_delivery
from vitae.contracts import job_id_for_blob
from vitae.ingestion import IncomingBlob, parse_incoming_name

URL = "http://127.0.0.1:10000/devstoreaccount1/incoming-resumes/acme/abc123.pdf"


def event(**data_overrides: object) -> dict[str, object]:
    e = blob_created_event(
        url=URL,
        etag="0x8DC1",
        content_length=10,
        content_type="application/pdf",
        topic="/t",
        subject="/blobServices/default/containers/incoming-resumes/blobs/acme/abc123.pdf",
    )
    e["data"].update(data_overrides)  # type: ignore[union-attr]
    return e


def test_event_grid_blob_created_is_parsed() -> None:
    delivery = parse_delivery([event(), event(api="PutBlockList")])
    assert delivery.created is not None and [c.api for c in delivery.created] == ["PutBlob", "PutBlockList"]
    assert delivery.created[0].url == URL and delivery.created[0].etag == "0x8DC1"


def test_cloudevents_are_accepted() -> None:
    e = event()
    cloud = {"specversion": "1.0", "id": "1", "type": e["eventType"], "source": "/s", "subject": "x", "data": e["data"]}
    delivery = parse_delivery(cloud)
    assert delivery.created is not None and len(delivery.created) == 1


def test_non_creating_operations_and_other_types_are_ignored() -> None:
    deleted = {**event(), "eventType": "Microsoft.Storage.BlobDeleted"}
    delivery = parse_delivery([event(api="SetBlobMetadata"), deleted])
    assert delivery.created == [] and delivery.ignored == 2


def test_subscription_validation_code_is_returned() -> None:
    handshake = {
        "id": "v",
        "subject": "",
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "data": {"validationCode": "512d38b6"},
    }
    assert parse_delivery([handshake]).validation_code == "512d38b6"


@pytest.mark.parametrize(
    "bad",
    [
        [],
        ["not an object"],
        [{"eventType": "Microsoft.Storage.BlobCreated"}],  # no id
        [event(url="ftp://x/y")],
        [event(url=None)],
        [event(eTag="not-an-etag")],
        [event(contentLength=-1)],
        [event(contentLength="12")],
        [{**event(), "data": "garbage"}],
        [{**event(), "subject": 5}],
        {"specversion": "0.3", "id": "1", "type": "x", "source": "y"},
    ],
)
def test_malformed_deliveries_are_rejected(bad: object) -> None:
    with pytest.raises(EventValidationError):
        parse_delivery(bad)


def test_job_id_is_stable_across_etag_quoting_and_url_encoding() -> None:
    assert job_id_for_blob(URL, '"0x8DC1"') == job_id_for_blob(URL, "0x8DC1")
    assert job_id_for_blob(URL.replace("abc123", "abc%31%32%33"), "0x8DC1") == job_id_for_blob(URL, "0x8DC1")
    assert job_id_for_blob(URL, "0x8DC2") != job_id_for_blob(URL, "0x8DC1")


def test_incoming_names() -> None:
    assert parse_incoming_name("acme/abc123.pdf") == IncomingBlob("acme", "abc123")
    other = parse_incoming_name("acme/folder/Jane Doe CV.PDF")
    assert other is not None and other.tenant_id == "acme" and other.file_id.startswith("f-")
    assert parse_incoming_name("no-tenant.pdf") is None
    assert parse_incoming_name("UPPER/x.pdf") is None

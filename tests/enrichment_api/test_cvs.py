"""``/v1/cvs`` on real PostgreSQL and Azurite: both forms stored once under one version id."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.enrichment_api.conftest import Harness
from tests.enrichment_api.test_cv_text import DELTA, DELTA_TEXT, HTML, HTML_TEXT

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _fetch(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.get(url)


@pytest.mark.parametrize(("fmt", "content", "expected"), [("delta", DELTA, DELTA_TEXT), ("html", HTML, HTML_TEXT)])
async def test_ingestion_stores_rich_and_plain_text_once(
    harness: Harness, fmt: str, content: object, expected: str
) -> None:
    body = {"userId": harness.user_id, "format": fmt, "content": content}
    first = await harness.api.post("/v1/cvs", json=body)
    assert first.status_code == 201, first.text
    cv = first.json()
    assert cv["created"] is True and cv["textChars"] == len(expected)
    version = cv["cvVersionId"]

    # The same CV again is the same version: nothing is derived or written a second time.
    again = await harness.api.post("/v1/cvs", json=body)
    assert again.status_code == 200 and again.json()["cvVersionId"] == version and again.json()["created"] is False

    stored = await harness.core.cvs.get("acme", version)
    assert stored is not None and stored.format == fmt
    text_blob = await harness.blobs.download(harness.core.container, stored.text_blob)
    assert text_blob.decode() == expected
    rich_blob = await harness.blobs.download(harness.core.container, stored.rich_blob)
    assert (json.loads(rich_blob) if fmt == "delta" else rich_blob.decode()) == content

    # Read-only links for the UI; another tenant sees nothing.
    view = await harness.api.get(f"/v1/cvs/{version}")
    assert view.status_code == 200
    text = await _fetch(view.json()["links"]["text"])
    assert text.status_code == 200 and text.text == expected
    assert (await harness.other_tenant.get(f"/v1/cvs/{version}")).status_code == 404


async def test_invalid_and_empty_cvs_are_refused(harness: Harness) -> None:
    bad = await harness.api.post("/v1/cvs", json={"userId": harness.user_id, "format": "delta", "content": "{nope"})
    assert bad.status_code == 422 and bad.json()["detail"]["code"] == "CV_INVALID"
    empty = await harness.api.post(
        "/v1/cvs", json={"userId": harness.user_id, "format": "html", "content": "<p> </p><script>x</script>"}
    )
    assert empty.status_code == 422 and empty.json()["detail"]["code"] == "CV_EMPTY"
    unauthenticated = await harness.api.post(
        "/v1/cvs", json={"userId": "u", "format": "html", "content": "<p>x</p>"}, headers={"X-API-Key": "vk_no_pe"}
    )
    assert unauthenticated.status_code == 401

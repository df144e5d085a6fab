"""The worker gateway (``/work``) against a Temporal dev server, PostgreSQL and Azurite."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from tests.enrichment_api.conftest import Harness, eventually
from vitae.enrichment_contracts import RunPolicy
from vitae.enrichment_core import input_snapshot_name
from worker_gateway.app import create_gateway_app

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _queued_run(harness: Harness) -> tuple[str, str]:
    """(job id, run id) of a new run, once the gateway can see it queued."""
    job = "job-" + uuid.uuid4().hex[:10]
    run_id = str((await harness.create_run(job, await harness.new_cv()))["runId"])

    async def queued() -> bool:
        run = await harness.core.runs.get(run_id)
        return run is not None and run.status.value == "queued"

    await eventually(queued, what="run queued")
    return job, run_id


async def _lease(gateway: httpx.AsyncClient, worker_id: str = "w1", **extra: Any) -> httpx.Response:
    return await gateway.post("/work/lease", json={"workerId": worker_id, "waitSeconds": 1, **extra})


async def test_lease_gives_token_and_input_url_that_expires_with_the_lease(harness: Harness) -> None:
    harness.core.policy = RunPolicy(lease_ttl_seconds=3)
    _, run_id = await _queued_run(harness)
    async with harness.gateway(await harness.worker_key()) as gateway:
        response = await _lease(gateway, input="inline")
        assert response.status_code == 200, response.text
        lease = response.json()
        assert lease["runId"] == run_id and lease["leaseToken"] and lease["attempt"] == 1
        lease_until = datetime.fromisoformat(lease["leaseUntil"])
        assert timedelta(seconds=1) < lease_until - datetime.now(UTC) <= timedelta(seconds=3)
        assert lease["input"]["expiresAt"] == lease["leaseUntil"]

        snapshot = json.loads(await harness.blobs.download(harness.core.container, input_snapshot_name(run_id)))
        assert lease["input"]["inline"] == snapshot
        async with httpx.AsyncClient(timeout=10) as http:
            fetched = await http.get(lease["input"]["url"])
            assert fetched.status_code == 200 and fetched.json() == snapshot
            # The SAS grants read only, on that one blob.
            assert (
                await http.put(lease["input"]["url"], content=b"x", headers={"x-ms-blob-type": "BlockBlob"})
            ).is_error

            # Offline past the lease: the URL no longer works, and the stale result is refused.
            await asyncio.sleep(max(0.0, (lease_until - datetime.now(UTC)).total_seconds()) + 1.2)
            assert (await http.get(lease["input"]["url"])).status_code == 403
        late = await gateway.post(
            "/work/complete", json={"runId": run_id, "leaseToken": lease["leaseToken"], "score": 50, "summary": "late"}
        )
        assert late.status_code in (409, 410), late.text
    run = await harness.core.runs.get(run_id)
    assert run is not None and run.score is None


async def test_two_workers_leasing_at_once_get_exactly_one_lease(harness: Harness) -> None:
    _, run_id = await _queued_run(harness)
    async with harness.gateway(await harness.worker_key()) as a, harness.gateway(await harness.worker_key()) as b:
        responses = await asyncio.gather(_lease(a, "worker-a"), _lease(b, "worker-b"), _lease(a, "worker-c"))
    granted = [r for r in responses if r.status_code == 200]
    assert len(granted) == 1, [r.status_code for r in responses]
    assert sorted(r.status_code for r in responses) == [200, 204, 204]
    run = await harness.core.runs.get(run_id)
    assert run is not None and run.status.value == "leased" and run.attempt == 1
    assert run.lease_token == granted[0].json()["leaseToken"]


async def test_wrong_token_is_refused_and_nothing_is_written(harness: Harness) -> None:
    job, run_id = await _queued_run(harness)
    async with harness.gateway(await harness.worker_key()) as gateway:
        lease = (await _lease(gateway, runId=run_id)).json()
        before = await harness.core.runs.get(run_id)
        wrong = await gateway.post(
            "/work/complete", json={"runId": run_id, "leaseToken": "not-the-token", "score": 80, "summary": "x"}
        )
        assert wrong.status_code == 409 and wrong.json()["detail"]["code"] == "LEASE_TOKEN_MISMATCH"
        assert await harness.core.runs.get(run_id) == before

        beat = await gateway.post("/work/heartbeat", json={"runId": run_id, "leaseToken": lease["leaseToken"]})
        assert beat.status_code == 200 and beat.json()["leaseUntil"] >= lease["leaseUntil"]
        invalid = await gateway.post(
            "/work/complete", json={"runId": run_id, "leaseToken": lease["leaseToken"], "score": 101, "summary": "x"}
        )
        assert invalid.status_code == 422
        done = await gateway.post(
            "/work/complete",
            json={"runId": run_id, "leaseToken": lease["leaseToken"], "score": 87.5, "summary": "strong match"},
        )
        assert done.status_code == 200 and done.json()["status"] == "succeeded"
        again = await gateway.post(
            "/work/complete", json={"runId": run_id, "leaseToken": lease["leaseToken"], "score": 10, "summary": "y"}
        )
        assert again.status_code == 410
        missing = await gateway.post(
            "/work/complete", json={"runId": "run-nope", "leaseToken": "t", "score": 1, "summary": ""}
        )
        assert missing.status_code == 404
    latest = await harness.latest(job)
    assert latest["status"] == "succeeded" and latest["result"] == {"score": 87.5, "summary": "strong match"}


async def test_completion_of_a_superseded_run_is_refused(harness: Harness) -> None:
    job, first = await _queued_run(harness)
    async with harness.gateway(await harness.worker_key()) as gateway:
        lease = (await _lease(gateway, runId=first)).json()
        cv = (await harness.core.runs.get(first)).cv_version_id  # type: ignore[union-attr]
        second = (await harness.create_run(job, cv))["runId"]
        stale = await gateway.post(
            "/work/complete", json={"runId": first, "leaseToken": lease["leaseToken"], "score": 60, "summary": "old"}
        )
        assert stale.status_code in (409, 410), stale.text
        beat = await gateway.post("/work/heartbeat", json={"runId": first, "leaseToken": lease["leaseToken"]})
        assert beat.status_code in (409, 410)

    async def superseded() -> bool:
        run = await harness.core.runs.get(first)
        return run is not None and run.status.value == "superseded"

    await eventually(superseded, what="first run superseded")
    run = await harness.core.runs.get(first)
    assert run is not None and run.score is None and run.superseded_by == second
    assert (await harness.latest(job))["runId"] == second


async def test_a_key_cannot_work_on_another_enricher_type(harness: Harness) -> None:
    _, run_id = await _queued_run(harness)
    async with harness.gateway(await harness.worker_key("someone-else.v1")) as other:
        assert (await _lease(other, enricherTypes=[harness.enricher])).status_code == 403
        assert (await _lease(other, runId=run_id)).status_code == 403
        complete = await other.post(
            "/work/complete", json={"runId": run_id, "leaseToken": "t", "score": 1, "summary": ""}
        )
        assert complete.status_code == 403
    async with harness.gateway("wk_nope_nope") as anonymous:
        assert (await _lease(anonymous)).status_code == 401
    run = await harness.core.runs.get(run_id)
    assert run is not None and run.status.value == "queued"


async def test_retryable_failure_requeues_and_core_endpoint_is_gateway_only(harness: Harness) -> None:
    job, run_id = await _queued_run(harness)
    async with harness.gateway(await harness.worker_key()) as gateway:
        lease = (await _lease(gateway, runId=run_id)).json()
        failed = await gateway.post(
            "/work/fail",
            json={"runId": run_id, "leaseToken": lease["leaseToken"], "errorCode": "MODEL_BUSY", "retryable": True},
        )
        assert failed.status_code == 200 and failed.json()["status"] == "queued"
        second = (await _lease(gateway, runId=run_id)).json()
        assert second["attempt"] == 2 and second["leaseToken"] != lease["leaseToken"]

    body = {"leaseToken": second["leaseToken"], "score": 42, "summary": "via the core"}
    tenant_try = await harness.api.post(f"/v1/enrichment/runs/{run_id}/complete", json=body)
    assert tenant_try.status_code == 401
    async with harness.core_client(await harness.worker_key()) as as_worker:
        assert (await as_worker.post(f"/v1/enrichment/runs/{run_id}/complete", json=body)).status_code == 401
    gateway_key = (await harness.worker_keys.issue("gateway", [], role="gateway")).secret
    async with harness.core_client(gateway_key) as core:
        done = await core.post(f"/v1/enrichment/runs/{run_id}/complete", json=body)
    assert done.status_code == 200 and done.json()["status"] == "succeeded"
    assert (await harness.latest(job))["result"] == {"score": 42.0, "summary": "via the core"}


async def test_gateway_app_wires_its_services_from_settings(harness: Harness, temporal: Client) -> None:
    """``create_gateway_app`` as ``vitae run gateway`` would run it: lifespan opens the Core."""
    settings = harness.settings.model_copy(update={"temporal_address": temporal.service_client.config.target_host})
    app = create_gateway_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://gateway.test") as http:
            assert (await http.get("/healthz")).status_code == 200
            key = await harness.worker_key()
            nothing = await http.post(
                "/work/lease", json={"workerId": "w", "waitSeconds": 0}, headers={"X-Worker-Key": key}
            )
            assert nothing.status_code == 204


async def test_a_revoked_key_is_refused_once_its_cached_authentication_lapses(harness: Harness) -> None:
    services = harness.gateway_app.state.gateway
    ttl = services.auth_cache.ttl
    services.auth_cache.ttl = 0.5
    try:
        key = await harness.worker_key()
        async with harness.gateway(key) as gateway:
            assert (await _lease(gateway, waitSeconds=0)).status_code == 204  # authenticated (and cached)
            assert await harness.worker_keys.revoke(key.split("_")[1])
            # Within the cache's lifetime the key still passes; after it, the database says no.
            assert (await _lease(gateway, waitSeconds=0)).status_code == 204
            await asyncio.sleep(0.6)
            assert (await _lease(gateway, waitSeconds=0)).status_code == 401
            assert (await _lease(gateway, waitSeconds=0)).status_code == 401  # failures are not cached
    finally:
        services.auth_cache.ttl = ttl


async def test_pollers_spread_over_queued_runs_and_prefetch_the_input(harness: Harness) -> None:
    runs = [(await _queued_run(harness))[1] for _ in range(4)]
    async with harness.gateway(await harness.worker_key()) as gateway:
        responses = await asyncio.gather(*(_lease(gateway, f"w{i}", input="inline") for i in range(4)))
    assert [r.status_code for r in responses] == [200] * 4
    leased = [r.json() for r in responses]
    assert sorted(lease["runId"] for lease in leased) == sorted(runs)
    for lease in leased:
        snapshot = json.loads(await harness.blobs.download(harness.core.container, input_snapshot_name(lease["runId"])))
        assert lease["input"]["inline"] == snapshot


async def test_inline_input_is_read_through_the_lease_link(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    # The gateway reads the snapshot with a plain GET on the lease's SAS link; the blob store
    # is only the fallback, so with it broken the input must still arrive inline.
    _, run_id = await _queued_run(harness)
    expected = json.loads(await harness.blobs.download(harness.core.container, input_snapshot_name(run_id)))

    async def broken(*_: object, **__: object) -> bytes:
        raise AssertionError("the blob store should not be read")

    monkeypatch.setattr(harness.core.blobs, "download", broken)
    async with harness.gateway(await harness.worker_key()) as gateway:
        response = await _lease(gateway, input="inline")
    assert response.status_code == 200, response.text
    assert response.json()["input"]["inline"] == expected

"""``/v1/enrichment`` against a Temporal dev server, PostgreSQL and Azurite."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.enrichment_api.conftest import Harness, eventually
from vitae.enrichment_core import input_snapshot_name

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _job() -> str:
    return "job-" + uuid.uuid4().hex[:10]


async def _wait_status(harness: Harness, job_id: str, status: str) -> dict[str, object]:
    latest: dict[str, object] = {}

    async def reached() -> bool:
        nonlocal latest
        latest = await harness.latest(job_id)
        return latest["status"] == status

    await eventually(reached, what=f"latest run {status}")
    return latest


async def test_create_writes_snapshot_and_latest_shows_queued(harness: Harness) -> None:
    cv = await harness.new_cv("Jane Doe — Python developer")
    job = _job()
    created = await harness.create_run(job, cv)
    run_id = created["runId"]
    assert created["created"] is True and created["previousRunId"] is None
    # The Pending row exists before the answer; the run's own workflow then queues it.
    assert created["run"]["status"] in ("pending", "queued")

    raw = await harness.blobs.download(harness.core.container, input_snapshot_name(run_id))
    snapshot = json.loads(raw)
    assert snapshot["runId"] == run_id and snapshot["enricherType"] == harness.enricher
    assert snapshot["job"] == {"id": job, "title": "Backend engineer", "description": "Python, PostgreSQL, Temporal."}
    assert snapshot["cv"]["versionId"] == cv and snapshot["cv"]["text"] == "Jane Doe — Python developer"
    assert snapshot["metadata"]["trigger"] == "job_created"

    latest = await _wait_status(harness, job, "queued")
    assert latest["runId"] == run_id and latest["result"] is None and "leaseToken" not in latest
    # Another tenant cannot see the subject or the run.
    other = await harness.other_tenant.get(
        f"/v1/enrichment/subjects/{job}/{harness.user_id}/latest", params={"enricherType": harness.enricher}
    )
    assert other.status_code == 404
    assert (await harness.other_tenant.get(f"/v1/enrichment/runs/{run_id}")).status_code == 404
    assert (await harness.api.get(f"/v1/enrichment/runs/{run_id}")).json()["runId"] == run_id


async def test_second_run_supersedes_the_first(harness: Harness) -> None:
    cv = await harness.new_cv()
    job = _job()
    first = (await harness.create_run(job, cv))["runId"]
    second = await harness.create_run(job, cv, title="Staff engineer")
    assert second["previousRunId"] == first

    latest = await _wait_status(harness, job, "queued")
    assert latest["runId"] == second["runId"]

    async def first_superseded() -> bool:
        run = (await harness.api.get(f"/v1/enrichment/runs/{first}")).json()
        return bool(run["status"] == "superseded" and run["supersededBy"] == second["runId"])

    await eventually(first_superseded, what="first run superseded")


async def test_idempotency_key_returns_the_same_run(harness: Harness) -> None:
    cv = await harness.new_cv()
    job = _job()
    one = await harness.create_run(job, cv, idempotency_key="create-1")
    two = await harness.create_run(job, cv, idempotency_key="create-1")
    assert two["runId"] == one["runId"] and one["created"] is True and two["created"] is False
    history = await harness.api.get(
        f"/v1/enrichment/subjects/{job}/{harness.user_id}/history", params={"enricherType": harness.enricher}
    )
    assert [r["runId"] for r in history.json()["items"]] == [one["runId"]]
    # The same key with a different request is a client bug, not a retry.
    response = await harness.api.post(
        "/v1/enrichment/runs",
        json={
            "enricherType": harness.enricher,
            "jobId": job,
            "userId": harness.user_id,
            "cvVersionId": cv,
            "job": {"title": "Something else", "description": ""},
        },
        headers={"Idempotency-Key": "create-2"},
    )
    assert response.status_code == 202
    clash = await harness.api.post(
        "/v1/enrichment/runs",
        json={
            "enricherType": harness.enricher,
            "jobId": job,
            "userId": harness.user_id,
            "cvVersionId": cv,
            "job": {"title": "Yet another", "description": ""},
        },
        headers={"Idempotency-Key": "create-2"},
    )
    # Key already used for a run that exists: that run is returned, never a second one.
    assert clash.status_code == 202 and clash.json()["runId"] == response.json()["runId"]


async def test_history_paginates_newest_first_and_rerun_reuses_the_job_text(harness: Harness) -> None:
    cv = await harness.new_cv()
    job = _job()
    created = [(await harness.create_run(job, cv, title=f"Engineer {i}"))["runId"] for i in range(3)]
    rerun = await harness.api.post(
        f"/v1/enrichment/subjects/{job}/{harness.user_id}/rerun", json={"enricherType": harness.enricher}
    )
    assert rerun.status_code == 202, rerun.text
    created.append(rerun.json()["runId"])
    snapshot = json.loads(await harness.blobs.download(harness.core.container, input_snapshot_name(created[-1])))
    assert snapshot["job"]["title"] == "Engineer 2" and snapshot["metadata"]["trigger"] == "rerun"

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"enricherType": harness.enricher, "limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (await harness.api.get(f"/v1/enrichment/subjects/{job}/{harness.user_id}/history", params=params)).json()
        seen += [r["runId"] for r in page["items"]]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert pages == 2 and seen == list(reversed(created))
    bad = await harness.api.get(
        f"/v1/enrichment/subjects/{job}/{harness.user_id}/history",
        params={"enricherType": harness.enricher, "cursor": "garbage"},
    )
    assert bad.status_code == 422


async def test_unknown_cv_and_foreign_subjects_are_refused(harness: Harness) -> None:
    job = _job()
    response = await harness.api.post(
        "/v1/enrichment/runs",
        json={
            "enricherType": harness.enricher,
            "jobId": job,
            "userId": harness.user_id,
            "cvVersionId": "cv-unknown",
            "job": {"title": "x", "description": ""},
        },
    )
    assert response.status_code == 404 and response.json()["detail"]["code"] == "CV_NOT_FOUND"
    missing = await harness.api.get(
        f"/v1/enrichment/subjects/{job}/{harness.user_id}/latest", params={"enricherType": harness.enricher}
    )
    assert missing.status_code == 404
    bad_id = await harness.api.get("/v1/enrichment/subjects/a:b/c/latest")
    assert bad_id.status_code == 422

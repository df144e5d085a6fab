"""The inference pipeline against the real local stack: webhook → Temporal → Cosmos, ledger, blobs."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import asyncpg
import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.blob_storage import BlobActivities
from activities.extraction_pool import ExtractionPool
from activities.text_cache import TextCache
from tests.conftest import FIXTURES, SHARED_DATA
from tests.e2e.conftest import LiveStack, upload, wait_for_job
from vitae.blob_events import blob_created_event
from vitae.contracts import (
    ARTIFACT_CONFLICT,
    ExtractedDocument,
    FinalizeJobInput,
    InferenceOutput,
    JobStatus,
    OpenJobInput,
    ResumeResult,
    workflow_id_for_job,
)
from vitae.pdf_text import ExtractionLimits
from vitae.results_restore import restore_results, results_lost
from vitae.stack import start_app, stop_app
from vitae.stores.blob import BlobStore
from vitae.stores.cosmos import ResultStore
from vitae.stores.ledger import Ledger

pytestmark = [pytest.mark.stack, pytest.mark.asyncio(loop_scope="session")]

LIVECAREER = SHARED_DATA / "livecareer-pdfs"


def real_pdfs(n: int, offset: int = 0) -> list[Path]:
    pdfs = sorted(LIVECAREER.glob("*/*.pdf"))
    if len(pdfs) < n + offset:
        pytest.skip("../shared/data/livecareer-pdfs is not available")
    # One or two per category, deterministic.
    return pdfs[offset::2][:n] if len(pdfs) >= 2 * n + offset else pdfs[offset : offset + n]


async def ledger_jobs(stack: LiveStack, file_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(stack.settings.database_url.get_secret_value())
    try:
        return await conn.fetch("SELECT * FROM inference_jobs WHERE file_id = $1", file_id)
    finally:
        await conn.close()


async def test_twenty_real_resumes_end_to_end(live_stack: LiveStack, api: httpx.AsyncClient) -> None:
    pdfs = real_pdfs(20)
    accepted = await asyncio.gather(*(upload(api, p) for p in pdfs))
    jobs = await asyncio.gather(*(wait_for_job(api, a["jobId"]) for a in accepted))
    assert [j["status"] for j in jobs] == ["succeeded"] * 20, [j["error"] for j in jobs]
    async with httpx.AsyncClient(timeout=10) as plain:
        for accepted_one, job in zip(accepted, jobs, strict=True):
            assert job["model"]["name"] == "vitae-resume-ner" and job["model"]["version"]
            assert job["pageCount"] >= 1 and job["textLength"] > 200
            resume = (await api.get(f"/v1/resumes/{accepted_one['fileId']}")).json()
            result = resume["result"]
            assert result is not None and result["jobId"] == job["jobId"]
            assert result["model"] == job["model"]
            assert result["processing"]["pageCount"] == job["pageCount"]
            assert result["processedAt"]
            # Artifacts: reachable only through the SAS links, with the same job and model.
            artifact = (await plain.get(job["artifacts"]["result"])).json()
            assert artifact["jobId"] == job["jobId"] and artifact["model"] == job["model"]
            explanations = (await plain.get(job["artifacts"]["explanations"])).json()
            assert explanations["entities"], "every real resume has some entities"
            for entity in explanations["entities"]:
                assert entity["end"] > entity["start"] >= 0 and 0 <= entity["confidence"] <= 1
            rows = await ledger_jobs(live_stack, accepted_one["fileId"])
            assert len(rows) == 1 and rows[0]["status"] == "succeeded" and rows[0]["cosmos_id"]


async def test_bad_uploads_fail_with_their_own_codes(live_stack: LiveStack, api: httpx.AsyncClient) -> None:
    expected = {
        "malformed.pdf": "PDF_MALFORMED",
        "encrypted.pdf": "PDF_ENCRYPTED",
        "empty.pdf": "PDF_EMPTY",
        "not_a_pdf.pdf": "NOT_A_PDF",
        "blank.pdf": "PDF_NO_TEXT",
    }
    accepted = {name: await upload(api, FIXTURES / name) for name in expected}
    for name, code in expected.items():
        job = await wait_for_job(api, accepted[name]["jobId"])
        assert job["status"] == "failed" and job["error"]["code"] == code, (name, job)
        assert job["artifacts"] is None
        resume = (await api.get(f"/v1/resumes/{accepted[name]['fileId']}")).json()
        assert resume["result"] is None and resume["sha256"]  # the upload itself is kept
    # The worker kept running: a good resume still goes through.
    ok = await upload(api, FIXTURES / "resume_ok.pdf")
    assert (await wait_for_job(api, ok["jobId"]))["status"] == "succeeded"


async def test_oversized_upload_is_refused_before_storage(live_stack: LiveStack, api: httpx.AsyncClient) -> None:
    big = b"%PDF-1.4\n" + b"0" * (live_stack.settings.max_upload_bytes + 1)
    response = await api.post("/v1/resumes", files={"file": ("big.pdf", big, "application/pdf")})
    assert response.status_code == 413


async def test_same_event_three_times_gives_one_job_and_one_result(
    live_stack: LiveStack, api: httpx.AsyncClient
) -> None:
    settings = live_stack.settings
    file_id = uuid.uuid4().hex
    name = f"local/{file_id}.pdf"
    async with BlobStore.from_settings(settings) as blobs:
        # Written directly, as another client would: the API is not involved.
        etag = await blobs.upload(
            settings.incoming_container, name, (FIXTURES / "resume_ok.pdf").read_bytes(), content_type="application/pdf"
        )
        url = blobs.url_for(settings.incoming_container, name)
    event = blob_created_event(
        url=url,
        etag=etag,
        content_length=1,
        content_type="application/pdf",
        topic="/t",
        subject=f"/blobServices/default/containers/{settings.incoming_container}/blobs/{name}",
    )
    headers = {"x-vitae-event-secret": settings.event_secret.get_secret_value()}
    async with httpx.AsyncClient(timeout=10) as http:
        replies = [(await http.post(settings.bridge_url, json=[event], headers=headers)).json() for _ in range(3)]
    # The watcher may have delivered it first, so count starts over all deliveries.
    assert sum(r["started"] for r in replies) <= 1
    assert sum(r["duplicates"] for r in replies) >= 2
    for _ in range(300):
        rows = await ledger_jobs(live_stack, file_id)
        if rows and rows[0]["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)  # let any stray duplicate surface
    rows = await ledger_jobs(live_stack, file_id)
    assert len(rows) == 1 and rows[0]["status"] == "succeeded"
    resume = (await api.get(f"/v1/resumes/{file_id}")).json()
    assert resume["result"]["jobId"] == rows[0]["job_id"]


async def test_blob_written_directly_is_noticed_by_the_watcher(live_stack: LiveStack, api: httpx.AsyncClient) -> None:
    settings = live_stack.settings
    file_id = uuid.uuid4().hex
    async with BlobStore.from_settings(settings) as blobs:
        await blobs.upload(
            settings.incoming_container,
            f"local/{file_id}.pdf",
            (FIXTURES / "resume_ok.pdf").read_bytes(),
            content_type="application/pdf",
        )
    for _ in range(200):
        response = await api.get(f"/v1/resumes/{file_id}")
        if response.status_code == 200 and (response.json()["latestJob"] or {}).get("status") == "succeeded":
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the watcher never delivered the BlobCreated event")


async def test_worker_killed_mid_batch_loses_and_duplicates_nothing(
    live_stack: LiveStack, api: httpx.AsyncClient
) -> None:
    pdfs = real_pdfs(8, offset=1)
    accepted = await asyncio.gather(*(upload(api, p) for p in pdfs))
    await asyncio.sleep(0.8)  # some jobs done, some in flight, some queued
    assert stop_app(live_stack.state_dir, "worker", graceful=False)
    await asyncio.sleep(1.0)
    await asyncio.to_thread(start_app, live_stack.state_dir, "worker")
    jobs = await asyncio.gather(*(wait_for_job(api, a["jobId"], timeout=120) for a in accepted))
    assert [j["status"] for j in jobs] == ["succeeded"] * len(pdfs)
    for a in accepted:
        rows = await ledger_jobs(live_stack, a["fileId"])
        assert len(rows) == 1, "one job per upload, even across the crash"
        result = (await api.get(f"/v1/resumes/{a['fileId']}")).json()["result"]
        assert result["jobId"] == a["jobId"]


async def test_reprocess_makes_a_new_job_and_idempotency_key_dedupes(
    live_stack: LiveStack, api: httpx.AsyncClient
) -> None:
    first = await upload(api, FIXTURES / "resume_ok.pdf")
    await wait_for_job(api, first["jobId"])
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    rerun = (await api.post(f"/v1/resumes/{first['fileId']}/reprocess", headers=headers)).json()
    again = (await api.post(f"/v1/resumes/{first['fileId']}/reprocess", headers=headers)).json()
    assert rerun["jobId"] != first["jobId"] and again["jobId"] == rerun["jobId"] and again["duplicate"]
    job = await wait_for_job(api, rerun["jobId"])
    assert job["status"] == "succeeded" and job["trigger"] == "rerun"
    assert len(await ledger_jobs(live_stack, first["fileId"])) == 2
    latest = (await api.get(f"/v1/resumes/{first['fileId']}")).json()
    assert latest["result"]["jobId"] == rerun["jobId"] and latest["latestJob"]["jobId"] == rerun["jobId"]


async def test_search_by_skill_finds_only_own_tenant(live_stack: LiveStack, api: httpx.AsyncClient) -> None:
    ok = await upload(api, FIXTURES / "resume_ok.pdf")
    await wait_for_job(api, ok["jobId"])
    for query in ("Kubernetes", "k8s"):  # aliases resolve through the skills taxonomy
        found = (await api.get("/v1/resumes", params={"skill": query})).json()
        assert ok["fileId"] in {i["fileId"] for i in found["items"]}, query


async def test_metrics_are_exported_with_model_version(live_stack: LiveStack, api: httpx.AsyncClient) -> None:
    ok = await upload(api, FIXTURES / "resume_ok.pdf")
    version = (await wait_for_job(api, ok["jobId"]))["model"]["version"]
    async with httpx.AsyncClient(timeout=10) as http:
        worker = (await http.get(live_stack.info.urls["worker_metrics"])).text
        api_metrics = (await http.get(f"{live_stack.api_url}/metrics")).text
    for name in ("inference_latency_ms", "entities_detected_count", "input_text_length_chars", "empty_prediction_rate"):
        assert name in worker, name
    assert f'model_version="{version}"' in worker
    assert "job_count" in worker and "error_rate" in worker
    assert "request_count" in api_metrics and 'route="/v1/resumes"' in api_metrics


async def test_job_long_poll_answers_when_the_job_finishes(live_stack: LiveStack, api: httpx.AsyncClient) -> None:
    ok = await upload(api, FIXTURES / "resume_ok.pdf")
    started = asyncio.get_running_loop().time()
    response = await api.get(f"/v1/jobs/{ok['jobId']}", params={"wait": 30}, timeout=40)
    elapsed = asyncio.get_running_loop().time() - started
    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"
    # Woken by the ledger's NOTIFY, not by the 30 s timeout (the job itself takes ~1 s).
    assert elapsed < 20, elapsed
    # A finished job answers at once; an unknown one is still a 404; the wait is bounded.
    assert (await api.get(f"/v1/jobs/{ok['jobId']}", params={"wait": 30})).json()["status"] == "succeeded"
    assert (await api.get("/v1/jobs/no-such-job", params={"wait": 1})).status_code == 404
    assert (await api.get(f"/v1/jobs/{ok['jobId']}", params={"wait": 31})).status_code == 422


async def test_results_cosmos_lost_come_back_from_their_artifacts(
    live_stack: LiveStack, api: httpx.AsyncClient
) -> None:
    """An empty results container (the emulator after a restart) is rebuilt exactly from the
    ledger and the result.json artifacts: the same documents, newest job per file."""
    first = await upload(api, FIXTURES / "resume_ok.pdf")
    await wait_for_job(api, first["jobId"])
    # Reprocessing makes a newer job for the same file: that one must win the restore.
    rerun = (await api.post(f"/v1/resumes/{first['fileId']}/reprocess")).json()
    await wait_for_job(api, rerun["jobId"])
    live = (await api.get(f"/v1/resumes/{first['fileId']}")).json()["result"]
    assert live["jobId"] == rerun["jobId"]

    fresh = live_stack.settings.model_copy(update={"cosmos_results_container": f"restore-{uuid.uuid4().hex[:8]}"})
    ledger = await Ledger.connect(fresh.database_url.get_secret_value(), max_size=4)
    original = await ResultStore.open(live_stack.settings)
    empty = await ResultStore.open(fresh, create=True)
    try:
        async with BlobStore.from_settings(fresh) as blobs:
            assert not await results_lost(ledger, original)
            assert await results_lost(ledger, empty)
            report = await restore_results(ledger, blobs, empty)
            assert report.missing_artifacts == 0 and report.restored == report.files >= 1
            assert not await results_lost(ledger, empty)
            assert await empty.get(live["tenantId"], live["fileId"]) == live
            # Restoring again changes nothing (the store keeps the same newest job).
            await restore_results(ledger, blobs, empty)
            assert await empty.get(live["tenantId"], live["fileId"]) == live
    finally:
        await empty.close()
        await original.close()
        await ledger.close()


async def test_artifacts_of_an_unfinished_attempt_are_replaced_and_a_finished_jobs_never(
    live_stack: LiveStack, api: httpx.AsyncClient
) -> None:
    """Inference runs in the same workflow task as the writes, so a worker that dies after
    writing leaves artifacts of a result history never recorded; the next attempt's result
    replaces them. Once the ledger records the outcome, a different result is refused."""
    done = await upload(api, FIXTURES / "resume_ok.pdf")
    await wait_for_job(api, done["jobId"])
    [row] = await ledger_jobs(live_stack, done["fileId"])
    job_id = f"job-{uuid.uuid4().hex}"
    settings = live_stack.settings
    ledger = await Ledger.connect(settings.database_url.get_secret_value(), max_size=2)
    try:
        async with BlobStore.from_settings(settings) as blobs:
            await ledger.open_job(
                OpenJobInput(
                    job_id=job_id,
                    tenant_id=row["tenant_id"],
                    file_id=done["fileId"],
                    blob_url=row["blob_url"],
                    etag=f"rerun-{job_id}",
                    workflow_id=workflow_id_for_job(job_id),
                    trigger="rerun",
                    queued_at=datetime.now(UTC),
                ),
                storage_container=settings.incoming_container,
                storage_key=f"{row['tenant_id']}/{done['fileId']}.pdf",
            )
            writer = BlobActivities(
                blobs,
                artifacts_container=settings.artifacts_container,
                limits=ExtractionLimits.from_settings(settings),
                texts=TextCache(),
                extractor=ExtractionPool(0),
                job_finished=ledger.job_finished,
            )

            def attempt(inference_ms: float) -> ResumeResult:
                now = datetime.now(UTC)
                return ResumeResult(
                    job_id=job_id,
                    tenant_id=row["tenant_id"],
                    file_id=done["fileId"],
                    blob_url=row["blob_url"],
                    document=ExtractedDocument("text-uri", 1, 10, False, "0" * 64, 100, 1.0),
                    inference=InferenceOutput("vitae-resume-ner", "1", [], {}, inference_ms, now),
                    queued_at=now,
                    processed_at=now,
                )

            async def result_json() -> dict[str, Any]:
                data = await blobs.download(settings.artifacts_container, f"jobs/{job_id}/result.json")
                return cast(dict[str, Any], json.loads(data))

            env = ActivityEnvironment()
            lost, retry = attempt(11.0), attempt(22.0)
            await env.run(writer.write_artifacts, lost)
            await env.run(writer.write_artifacts, retry)  # the job is still running: replaced
            assert (await result_json())["processing"]["inferenceMs"] == 22.0
            await ledger.finalize_job(FinalizeJobInput(job_id, JobStatus.SUCCEEDED, datetime.now(UTC)))
            await env.run(writer.write_artifacts, retry)  # the same bytes again: a no-op
            with pytest.raises(ApplicationError) as refused:
                await env.run(writer.write_artifacts, attempt(33.0))
            assert refused.value.type == ARTIFACT_CONFLICT and refused.value.non_retryable
            assert (await result_json())["processing"]["inferenceMs"] == 22.0
    finally:
        await ledger.close()

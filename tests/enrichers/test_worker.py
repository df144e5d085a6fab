"""The worker loop against the real gateway (Temporal dev server, PostgreSQL, Azurite), and its
behaviour when the gateway is unreachable."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest

from enrichers.compatibility import CompatibilityScorer, compute, taxonomy_skills
from enrichers.minilm import MiniLmEncoder
from enrichers.worker import EnrichmentWorker, InputError, Result, WorkerConfig
from tests.enrichment_api.conftest import Harness, eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")

CV = "Backend engineer. Python services on PostgreSQL, orchestrated with Temporal; Docker and Kubernetes."


async def _queued_run(harness: Harness) -> tuple[str, str]:
    job = "job-" + uuid.uuid4().hex[:10]
    run_id = str((await harness.create_run(job, await harness.new_cv(CV)))["runId"])

    async def queued() -> bool:
        run = await harness.core.runs.get(run_id)
        return run is not None and run.status.value == "queued"

    await eventually(queued, what="run queued")
    return job, run_id


async def _worker(harness: Harness, compute_fn: Any, **config: Any) -> EnrichmentWorker:
    key = await harness.worker_key()
    settings = WorkerConfig(
        gateway_url="https://gateway.test", key=key, enricher_types=[harness.enricher], wait_seconds=2, **config
    )
    return EnrichmentWorker(settings, compute_fn, http=harness.gateway(key))


@pytest.mark.parametrize("input_mode", ["inline", "url"])
async def test_worker_completes_a_run_through_the_gateway(
    harness: Harness, encoder: MiniLmEncoder, input_mode: str
) -> None:
    job, run_id = await _queued_run(harness)
    worker = await _worker(harness, compute(CompatibilityScorer(encoder, taxonomy_skills)), input_mode=input_mode)
    assert await asyncio.wait_for(worker.run(once=True), timeout=30) == 0
    assert worker.stats.completed == 1
    latest = await harness.latest(job)
    assert latest["runId"] == run_id and latest["status"] == "succeeded"
    assert 0 <= latest["result"]["score"] <= 100
    assert "postgresql" in latest["result"]["summary"]


async def test_bad_input_fails_the_run_without_retry(harness: Harness) -> None:
    job, run_id = await _queued_run(harness)

    def reject(snapshot: dict[str, Any]) -> Result:
        raise InputError("JOB_EMPTY", "the job has neither title nor description")

    worker = await _worker(harness, reject)
    await asyncio.wait_for(worker.run(once=True), timeout=30)
    assert worker.stats.failed == 1
    run = await harness.core.runs.get(run_id)
    assert run is not None and run.status.value == "failed" and run.attempt == 1
    assert (await harness.latest(job))["status"] == "failed"


def _config(**extra: Any) -> WorkerConfig:
    return WorkerConfig(
        gateway_url="http://gateway.invalid", key="wk_test", backoff_base=0.01, backoff_max=0.04, **extra
    )


def _never(snapshot: dict[str, Any]) -> Result:
    raise AssertionError("no run should be computed")


async def test_backs_off_exponentially_while_the_gateway_is_down_then_recovers() -> None:
    answers: list[int | str] = [503, 502, "connect", 500, "connect", 204]
    stop = asyncio.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0) if answers else 204
        if not answers:
            stop.set()
        if answer == "connect":
            raise httpx.ConnectError("refused", request=request)
        assert request.headers["Authorization"] == "Bearer wk_test"
        return httpx.Response(int(answer))

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://gateway.invalid")
    worker = EnrichmentWorker(_config(), _never, http=http, stop=stop)
    await asyncio.wait_for(worker.run(), timeout=5)
    delays = worker.stats.backoffs
    assert len(delays) == 5
    # Equal jitter: each delay lies in [ceiling/2, ceiling], the ceiling doubling up to the cap.
    for attempt, delay in enumerate(delays):
        ceiling = min(0.04, 0.01 * 2**attempt)
        assert ceiling / 2 <= delay <= ceiling


async def test_unreachable_gateway_is_retried_until_stopped() -> None:
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: connections are refused
    stop = asyncio.Event()
    worker = EnrichmentWorker(
        WorkerConfig(gateway_url=f"http://127.0.0.1:{port}", key="k", backoff_base=0.01, backoff_max=0.02),
        _never,
        stop=stop,
    )
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.4)
    assert not task.done()
    stop.set()
    started = time.monotonic()
    assert await asyncio.wait_for(task, timeout=2) == 0
    assert time.monotonic() - started < 0.5
    assert len(worker.stats.backoffs) >= 5 and max(worker.stats.backoffs) <= 0.02


async def test_stop_interrupts_a_long_poll() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(204)

    stop = asyncio.Event()
    http = httpx.AsyncClient(transport=httpx.MockTransport(hang), base_url="http://gateway.invalid")
    task = asyncio.create_task(EnrichmentWorker(_config(), _never, http=http, stop=stop).run())
    await asyncio.sleep(0.1)
    stop.set()
    assert await asyncio.wait_for(task, timeout=2) == 0

"""Option B end to end on a real uvicorn scoring server: the worker's EndpointScorer and the
inference activity follow deployment and traffic changes with no restart; errors map to
retryable or non-retryable job failures; the ``vitae endpoint`` CLI drives the control plane."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.model_inference import InferenceActivities
from model_runtime.registry import ProductionModel
from model_runtime.scoring import (
    SCORING_DEPLOYMENT_NOT_FOUND,
    SCORING_UNAUTHORIZED,
    SCORING_UNAVAILABLE,
    EndpointScorer,
    InProcessScorer,
    ScoringError,
    scorer_from_settings,
)
from model_runtime.serving.audit import MemoryAudit
from model_runtime.serving.endpoint import create_scoring_app
from vitae.contracts import ExtractedDocument, InferenceInput, ResumeResult
from vitae.resume_document import explanations_document, result_document
from vitae.settings import get_settings
from vitae.telemetry import ModelMetrics

from .scoring_support import (
    ADMIN_KEY,
    RESUME,
    SCORING_KEY,
    LiveServer,
    ServedRegistry,
    free_port,
    scoring_settings,
    served,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
__all__ = ["served"]

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture()
def live(tmp_path: Path, served: ServedRegistry) -> Iterator[tuple[LiveServer, MemoryAudit]]:
    audit = MemoryAudit()
    app = create_scoring_app(
        scoring_settings(tmp_path), registry=served.registry, audit=audit, rng=random.Random(3), bootstrap=True
    )
    with LiveServer(app) as server:
        yield server, audit


def admin(server: LiveServer, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
    response = httpx.request(method, server.url + path, json=body, headers=ADMIN, timeout=30)
    assert response.status_code == 200, response.text
    return response


async def test_a_running_scorer_follows_deploys_and_traffic_without_restart(
    live: tuple[LiveServer, MemoryAudit], served: ServedRegistry
) -> None:
    server, audit = live
    scorer = EndpointScorer(f"{server.url}/score", SCORING_KEY, ready_timeout=30)
    try:
        assert (await scorer.warm_up()).startswith("scoring endpoint")
        first = await scorer.score(RESUME)
        assert (first.deployment, first.model_version) == ("blue", served.v1)

        admin(server, "PUT", "/admin/deployments/blue", {"model_version": served.v2, "actor": "ops"})
        second = await scorer.score(RESUME)  # the very next request: the new version
        assert (second.deployment, second.model_version) == ("blue", served.v2)

        admin(server, "PUT", "/admin/deployments/green", {"model_version": served.v1})
        admin(server, "PUT", "/admin/traffic", {"traffic": {"blue": 0, "green": 100}})
        third = await scorer.score(RESUME)
        assert (third.deployment, third.model_version) == ("green", served.v1)
        assert third.entities == first.entities and third.fields == first.fields
    finally:
        await scorer.aclose()

    pinned = EndpointScorer(f"{server.url}/score", SCORING_KEY, deployment="blue")
    try:
        result = await pinned.score(RESUME)
        assert (result.deployment, result.model_version) == ("blue", served.v2)
    finally:
        await pinned.aclose()
    assert [e["action"] for e in audit.events] == ["deploy", "deploy", "deploy", "traffic"]


async def test_inference_activity_in_endpoint_mode_matches_in_process(
    live: tuple[LiveServer, MemoryAudit], served: ServedRegistry, tmp_path: Path
) -> None:
    server, _ = live
    texts = {"mem://resume": RESUME}

    async def read_text(uri: str) -> str:
        return texts[uri]

    metrics = ModelMetrics({"service": "test", "deployment": "test"})
    settings = scoring_settings(tmp_path, model_serving="endpoint", scoring_url=f"{server.url}/score")
    endpoint_scorer = scorer_from_settings(settings)
    assert isinstance(endpoint_scorer, EndpointScorer)
    in_process = InProcessScorer(ProductionModel(served.registry, "production", refresh_seconds=3600))
    env = ActivityEnvironment()
    try:
        via_endpoint = await env.run(
            InferenceActivities(endpoint_scorer, read_text, metrics).run_inference,
            InferenceInput(job_id="job-1", text_uri="mem://resume"),
        )
        local = await env.run(
            InferenceActivities(in_process, read_text, metrics).run_inference,
            InferenceInput(job_id="job-1", text_uri="mem://resume"),
        )
    finally:
        await endpoint_scorer.aclose()
    assert (via_endpoint.model_name, via_endpoint.model_version) == ("vitae-test", served.v1)
    assert (local.model_name, local.model_version) == ("vitae-test", served.v1)
    assert via_endpoint.entities == local.entities
    assert via_endpoint.fields == local.fields
    assert via_endpoint.inference_ms > 0
    # The result names the deployment that served it (and carries it into the documents).
    assert (via_endpoint.model_deployment, local.model_deployment) == ("blue", None)
    result = ResumeResult(
        job_id="job-1",
        tenant_id="t",
        file_id="f",
        blob_url="https://blob/f.pdf",
        document=ExtractedDocument("mem://resume", 1, len(RESUME), False, "0" * 64, 10, 1.0),
        inference=via_endpoint,
        queued_at=via_endpoint.produced_at,
        processed_at=via_endpoint.produced_at,
    )
    assert result_document(result)["model"] == {"name": "vitae-test", "version": served.v1, "deployment": "blue"}
    assert explanations_document(result)["model"]["deployment"] == "blue"
    assert "deployment" not in result_document(replace(result, inference=local))["model"]


async def test_scoring_errors_become_retryable_or_final_job_failures(
    live: tuple[LiveServer, MemoryAudit], served: ServedRegistry
) -> None:
    server, _ = live

    async def read_text(uri: str) -> str:
        return RESUME

    metrics = ModelMetrics({"service": "test", "deployment": "test"})
    env = ActivityEnvironment()
    cases = [
        (EndpointScorer(f"{server.url}/score", "wrong-key"), SCORING_UNAUTHORIZED, True),
        (EndpointScorer(f"{server.url}/score", SCORING_KEY, deployment="purple"), SCORING_DEPLOYMENT_NOT_FOUND, True),
        (
            EndpointScorer(f"http://127.0.0.1:{free_port()}/score", SCORING_KEY, backoff=0.01),
            SCORING_UNAVAILABLE,
            False,
        ),
    ]
    for scorer, code, final in cases:
        try:
            with pytest.raises(ScoringError) as direct:
                await scorer.score(RESUME)
            assert direct.value.code == code and direct.value.retryable is not final
            with pytest.raises(ApplicationError) as failed:
                await env.run(
                    InferenceActivities(scorer, read_text, metrics).run_inference, InferenceInput("job-2", "mem://x")
                )
            assert failed.value.type == code and failed.value.non_retryable is final
        finally:
            await scorer.aclose()


async def test_endpoint_cli_deploys_and_shifts_traffic(
    live: tuple[LiveServer, MemoryAudit],
    served: ServedRegistry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import asyncio

    from vitae.cli import main as cli_main

    async def main(argv: list[str]) -> int:
        # The CLI runs its own event loop (asyncio.run), as it does from a shell.
        return await asyncio.to_thread(cli_main, argv)

    server, audit = live
    monkeypatch.setenv("VITAE_STATE_DIR", str(tmp_path / "cli-state"))
    monkeypatch.setenv("VITAE_SCORING_URL", f"{server.url}/score")
    monkeypatch.setenv("VITAE_SCORING_KEY", SCORING_KEY)
    monkeypatch.setenv("VITAE_SCORING_ADMIN_KEY", ADMIN_KEY)
    monkeypatch.setenv("VITAE_MODEL_AUDIT_ACTOR", "cli-tester")
    get_settings.cache_clear()
    try:
        assert await main(["endpoint", "deploy", "green", "--version", served.v2, "--reason", "canary"]) == 0
        assert await main(["endpoint", "traffic", "blue=70", "green=30", "--reason", "canary 30"]) == 0
        out = capsys.readouterr().out
        assert "green" in out and "30%" in out
        assert await main(["endpoint", "deploy", "green", "--version", served.v3]) == 1
        assert "ModelVersionNotDeployable" in capsys.readouterr().err
        assert await main(["endpoint", "traffic", "blue=70", "green=20"]) == 1
        assert "InvalidTrafficSum" in capsys.readouterr().err

        text = tmp_path / "resume.txt"
        text.write_text(RESUME, encoding="utf-8")
        assert await main(["endpoint", "score", str(text), "--count", "40"]) == 0
        summary = capsys.readouterr().out.strip().splitlines()[-1]
        assert f"green (v{served.v2})" in summary and f"blue (v{served.v1})" in summary
        assert await main(["endpoint", "show", "--json"]) == 0
        assert '"green": 30' in capsys.readouterr().out
    finally:
        get_settings.cache_clear()
    assert [(e["action"], e["actor"], e["reason"]) for e in audit.events[1:]] == [
        ("deploy", "cli-tester", "canary"),
        ("traffic", "cli-tester", "canary 30"),
    ]

"""The scoring endpoint (Option B) in-process over ASGI, with a real MLflow registry and a
trained model: routing, traffic split, header pinning, mirroring, probes, key auth, and the
audited control plane."""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from model_runtime.audit_event import ModelEvent
from model_runtime.registry import ModelRef
from model_runtime.serving.audit import MemoryAudit, PostgresAudit
from model_runtime.serving.endpoint import ENDPOINT_NAME, create_scoring_app, state_path
from model_runtime.serving.runtime import ScoringEndpoint
from model_runtime.serving.state import StateError, parse_assignments
from model_runtime.structure import structure_entities

from .scoring_support import ADMIN_KEY, RESUME, SCORING_KEY, ServedRegistry, scoring_settings, served

pytestmark = pytest.mark.asyncio(loop_scope="session")
__all__ = ["served"]  # the module-scoped fixture, imported for pytest

AUTH = {"Authorization": f"Bearer {SCORING_KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


class Harness:
    def __init__(self, endpoint: ScoringEndpoint, client: httpx.AsyncClient, audit: Any) -> None:
        self.endpoint = endpoint
        self.client = client
        self.audit = audit

    async def score(self, text: str = RESUME, pin: str | None = None) -> httpx.Response:
        headers = dict(AUTH)
        if pin:
            headers["azureml-model-deployment"] = pin
        return await self.client.post("/score", json={"text": text}, headers=headers)

    async def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.request(method, path, json=body, headers=ADMIN)

    async def deploy(self, name: str, version: str, **extra: Any) -> httpx.Response:
        return await self.admin("PUT", f"/admin/deployments/{name}", {"model_version": version, **extra})

    async def traffic(self, traffic: dict[str, int], mirror: dict[str, int] | None = None) -> httpx.Response:
        body: dict[str, Any] = {"traffic": traffic, "actor": "pytest", "reason": "test"}
        if mirror is not None:
            body["mirror_traffic"] = mirror
        return await self.admin("PUT", "/admin/traffic", body)


async def wait_ready(endpoint: ScoringEndpoint, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not endpoint.readiness()[0]:
        assert asyncio.get_running_loop().time() < deadline, endpoint.readiness()
        await asyncio.sleep(0.02)


async def start(
    state_dir: Path,
    registry: Any,
    *,
    seed: int = 7,
    audit: Any = None,
    ready: bool = True,
) -> Harness:
    audit = MemoryAudit() if audit is None else audit
    settings = scoring_settings(state_dir)
    endpoint = ScoringEndpoint(
        registry, state_path(settings), endpoint_name=ENDPOINT_NAME, audit=audit, rng=random.Random(seed)
    )
    await endpoint.start(bootstrap_alias="production", actor="pytest")
    if ready:
        await wait_ready(endpoint)
    app = create_scoring_app(settings, endpoint=endpoint)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://scoring", timeout=30)
    return Harness(endpoint, client, audit)


async def test_bootstrap_serves_production_on_blue_with_the_in_process_output(
    tmp_path: Path, served: ServedRegistry
) -> None:
    h = await start(tmp_path, served.registry)
    response = await h.score()
    assert response.status_code == 200, response.text
    body = response.json()
    assert response.headers["azureml-model-deployment"] == "blue"
    assert body["deployment"] == "blue"
    assert (body["modelName"], body["modelVersion"]) == ("vitae-test", served.v1)
    # Exactly what the in-process path (Option A) computes for the same version.
    prediction = served.registry.load(served.registry.get_version(served.v1)).predict(RESUME)
    assert body["entities"] == prediction.to_dict()["entities"]
    assert body["fields"] == json.loads(json.dumps(structure_entities(prediction.entities, RESUME)))
    assert "asha.rao@example.com" in body["fields"]["contact"]["emails"]

    batch = await h.client.post("/score", json={"input_data": [RESUME, "bo@example.com"]}, headers=AUTH)
    assert batch.status_code == 200
    assert [len(p["entities"]) > 0 for p in batch.json()["predictions"]] == [True, True]

    state = json.loads((tmp_path / "scoring" / "endpoint.json").read_text())
    assert {name: d["model_version"] for name, d in state["deployments"].items()} == {"blue": served.v1}
    assert state["traffic"] == {"blue": 100} and state["mirror_traffic"] == {}
    [event] = h.audit.events
    assert (event["action"], event["target"], event["version"]) == ("deploy", "blue", served.v1)
    assert event["reason"].startswith("bootstrap")
    await h.endpoint.aclose()


async def test_secondary_key_lets_keys_rotate_without_downtime(tmp_path: Path, served: ServedRegistry) -> None:
    endpoint = ScoringEndpoint(
        served.registry, state_path(scoring_settings(tmp_path)), endpoint_name=ENDPOINT_NAME, audit=MemoryAudit()
    )
    await endpoint.start(bootstrap_alias="production", actor="pytest")
    await wait_ready(endpoint)

    async def status(app_settings: Any, key: str) -> int:
        app = create_scoring_app(app_settings, endpoint=endpoint)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
            response = await c.post("/score", json={"text": "x"}, headers={"Authorization": f"Bearer {key}"})
            return response.status_code

    rotating = scoring_settings(tmp_path, scoring_secondary_key="the-next-key")
    # While rotating, both the old (primary) and the new (secondary) key are accepted...
    assert await status(rotating, SCORING_KEY) == 200
    assert await status(rotating, "the-next-key") == 200
    assert await status(rotating, "another-key") == 401
    # ...and without a secondary key, only the primary.
    assert await status(scoring_settings(tmp_path), "the-next-key") == 401
    await endpoint.aclose()


async def test_key_auth_and_probes(tmp_path: Path, served: ServedRegistry) -> None:
    h = await start(tmp_path, served.registry)
    c = h.client
    assert (await c.post("/score", json={"text": "x"})).status_code == 401
    wrong = await c.post("/score", json={"text": "x"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert (await c.post("/score", json={"text": "x"}, headers=ADMIN)).status_code == 401
    assert (await c.get("/admin/endpoint", headers=AUTH)).status_code == 401
    assert (await c.put("/admin/traffic", json={"traffic": {"blue": 100}}, headers=AUTH)).status_code == 401
    # Probes answer without a key, like the deployment-internal probes of Azure ML.
    assert (await c.get("/")).text == "Healthy"
    assert (await c.get("/health/live")).status_code == 200
    ready = await c.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["deployments"]["blue"]["loaded"] is True
    bad = await c.post("/score", json={"texts": []}, headers=AUTH)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "BadRequest"
    await h.endpoint.aclose()


class GatedRegistry:
    """The real registry, with model loads held until the test opens the gate."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.gate = threading.Event()

    def get_version(self, version: str) -> ModelRef:
        return self.inner.get_version(version)

    def resolve(self, alias: str) -> ModelRef | None:
        return self.inner.resolve(alias)

    def load(self, ref: ModelRef) -> Any:
        assert self.gate.wait(30)
        return self.inner.load(ref)


async def test_not_ready_until_every_live_deployment_is_loaded(tmp_path: Path, served: ServedRegistry) -> None:
    gated = GatedRegistry(served.registry)
    h = await start(tmp_path, gated, ready=False)
    assert (await h.client.get("/health/live")).status_code == 200
    ready = await h.client.get("/health/ready")
    assert ready.status_code == 503 and ready.json()["deployments"]["blue"]["loaded"] is False
    early = await h.score()
    assert early.status_code == 503 and early.json()["error"]["code"] == "DeploymentNotReady"
    gated.gate.set()
    await wait_ready(h.endpoint)
    assert (await h.client.get("/health/ready")).status_code == 200
    assert (await h.score()).status_code == 200
    await h.endpoint.aclose()


async def test_traffic_split_70_30_over_1000_requests(tmp_path: Path, served: ServedRegistry) -> None:
    h = await start(tmp_path, served.registry, seed=2026)
    assert (await h.deploy("green", served.v2)).status_code == 200
    assert (await h.traffic({"blue": 70, "green": 30})).status_code == 200
    counts: Counter[str] = Counter()
    versions = {"blue": served.v1, "green": served.v2}
    text = "Asha Rao\nasha@example.com\nPython, SQL"
    for _ in range(20):
        responses = await asyncio.gather(*(h.score(text) for _ in range(50)))
        for r in responses:
            assert r.status_code == 200
            name = r.headers["azureml-model-deployment"]
            assert r.json()["deployment"] == name and r.json()["modelVersion"] == versions[name]
            counts[name] += 1
    n, p = 1000, 0.30
    tolerance = 4.5 * math.sqrt(n * p * (1 - p))  # ±65: a fair 70/30 router fails this ~1 in 150,000 runs
    assert abs(counts["green"] - n * p) <= tolerance, counts
    assert counts["blue"] + counts["green"] == n
    described = (await h.admin("GET", "/admin/endpoint")).json()
    assert described["deployment_status"]["green"]["requests"] == counts["green"]
    await h.endpoint.aclose()


async def test_header_pins_a_deployment_even_with_zero_traffic(tmp_path: Path, served: ServedRegistry) -> None:
    h = await start(tmp_path, served.registry)
    assert (await h.deploy("green", served.v2)).json()["endpoint"]["traffic"] == {"blue": 100, "green": 0}
    for _ in range(10):
        pinned = await h.score(pin="green")
        assert pinned.headers["azureml-model-deployment"] == "green"
        assert pinned.json()["modelVersion"] == served.v2
        assert (await h.score()).json()["deployment"] == "blue"
    missing = await h.score(pin="purple")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "DeploymentNotFound"
    await h.endpoint.aclose()


async def test_mirror_gets_copies_and_never_answers(tmp_path: Path, served: ServedRegistry) -> None:
    h = await start(tmp_path, served.registry, seed=11)
    await h.deploy("green", served.v2)
    assert (await h.traffic({"blue": 100}, mirror={"green": 50})).status_code == 200
    responses = await asyncio.gather(*(h.score("a@example.com") for _ in range(200)))
    assert {r.json()["deployment"] for r in responses} == {"blue"}
    assert {r.json()["modelVersion"] for r in responses} == {served.v1}
    await h.endpoint.drain()
    status = h.endpoint.describe()["deployment_status"]
    assert status["blue"]["requests"] == 200 and status["green"]["requests"] == 0
    assert 60 <= status["green"]["mirrored"] <= 140, status  # 50 % of 200, ±5.7 sd
    mirrored = status["green"]["mirrored"]
    # Requests pinned by header are not mirrored (as in Azure ML).
    await asyncio.gather(*(h.score("a@example.com", pin="blue") for _ in range(20)))
    await h.endpoint.drain()
    assert h.endpoint.describe()["deployment_status"]["green"]["mirrored"] == mirrored
    await h.endpoint.aclose()


async def test_invalid_changes_are_refused_unaudited_and_change_nothing(tmp_path: Path, served: ServedRegistry) -> None:
    h = await start(tmp_path, served.registry)
    await h.deploy("green", served.v2)
    revision = h.endpoint.state.revision
    audited = len(h.audit.events)
    cases = [
        (h.traffic({"blue": 70, "green": 20}), 400, "InvalidTrafficSum"),
        (h.traffic({"blue": 100, "teal": 0}), 400, "DeploymentNotFound"),
        (h.traffic({"blue": 90, "green": 10}, mirror={"green": 10}), 400, "InvalidMirrorTraffic"),
        (h.traffic({"blue": 100}, mirror={"green": 60}), 400, "InvalidMirrorTraffic"),
        (h.traffic({"blue": 100}, mirror={"green": 10, "blue": 5}), 400, "InvalidMirrorTraffic"),
        (h.traffic({"blue": 100.0, "green": 0}), 400, "InvalidConfiguration"),  # type: ignore[dict-item]
        (h.deploy("green", served.v3), 409, "ModelVersionNotDeployable"),
        (h.deploy("green", "999"), 404, "ModelVersionNotFound"),
        (h.deploy("x", served.v1), 400, "InvalidDeploymentName"),
        (h.admin("DELETE", "/admin/deployments/blue"), 409, "DeploymentHasTraffic"),
    ]
    for call, status, code in cases:
        response = await call
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    refused = await h.deploy("green", served.v3)
    assert "only stage=prod versions can be deployed" in refused.json()["error"]["message"]
    assert h.endpoint.state.revision == revision
    assert len(h.audit.events) == audited
    assert h.endpoint.state.deployments["green"].model_version == served.v2
    await h.endpoint.aclose()


async def test_changes_are_audited_persisted_and_survive_a_restart(tmp_path: Path, served: ServedRegistry) -> None:
    h = await start(tmp_path, served.registry)
    created = await h.deploy("green", served.v2, actor="asha", reason="candidate")
    assert created.status_code == 200 and created.json()["changed"] is True
    assert (await h.deploy("green", served.v2)).json()["changed"] is False  # no-op: not audited
    assert (await h.traffic({"blue": 90, "green": 10})).status_code == 200
    assert (await h.deploy("blue", served.v2, actor="asha", reason="roll blue forward")).status_code == 200
    actions = [(e["action"], e["target"], e["version"], e["from_version"], e["actor"]) for e in h.audit.events]
    assert actions == [
        ("deploy", "blue", served.v1, None, "pytest"),  # bootstrap
        ("deploy", "green", served.v2, None, "asha"),
        ("traffic", ENDPOINT_NAME, None, None, "pytest"),
        ("deploy", "blue", served.v2, served.v1, "asha"),
    ]
    traffic_event = h.audit.events[2]
    assert traffic_event["details"]["traffic"] == {"blue": 90, "green": 10}
    assert traffic_event["details"]["from_traffic"] == {"blue": 100, "green": 0}
    assert traffic_event["reason"] == "test"
    await h.endpoint.aclose()

    again = await start(tmp_path, served.registry)  # a restarted server: same endpoint, no bootstrap
    state = again.endpoint.state
    assert state.traffic == {"blue": 90, "green": 10}
    assert {n: s.model_version for n, s in state.deployments.items()} == {"blue": served.v2, "green": served.v2}
    assert again.audit.events == []
    assert (await again.score(pin="blue")).json()["modelVersion"] == served.v2
    await again.endpoint.aclose()


class BrokenAudit(MemoryAudit):
    async def record(self, event: ModelEvent) -> int:
        if event.action == "traffic":
            raise ConnectionError("audit store down")
        return await super().record(event)


async def test_a_change_that_cannot_be_audited_is_not_applied(tmp_path: Path, served: ServedRegistry) -> None:
    h = await start(tmp_path, served.registry, audit=BrokenAudit())
    await h.deploy("green", served.v2)
    refused = await h.traffic({"blue": 50, "green": 50})
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "AuditUnavailable"
    assert h.endpoint.state.traffic == {"blue": 100, "green": 0}
    assert json.loads((tmp_path / "scoring" / "endpoint.json").read_text())["traffic"] == {"blue": 100, "green": 0}
    await h.endpoint.aclose()


async def test_redeploy_under_load_switches_versions_without_a_failed_request(
    tmp_path: Path, served: ServedRegistry
) -> None:
    h = await start(tmp_path, served.registry)
    seen: list[str] = []
    stop = asyncio.Event()

    async def client_loop() -> None:
        while not stop.is_set():
            response = await h.score("a@example.com")
            assert response.status_code == 200, response.text
            seen.append(response.json()["modelVersion"])

    loops = [asyncio.create_task(client_loop()) for _ in range(4)]
    await asyncio.sleep(0.3)
    assert (await h.deploy("blue", served.v2)).status_code == 200
    after = len(seen)
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.gather(*loops)
    # Requests routed before the switch may still finish after it, in any order among the new
    # ones: at most one per client loop. Everything else after the switch is v2.
    late = seen[after:]
    assert seen[0] == served.v1, seen
    assert late.count(served.v1) <= len(loops) and late.count(served.v2) > len(loops), seen
    assert set(late) <= {served.v1, served.v2}, seen
    # Versions no deployment serves any more are dropped from memory.
    assert set(h.endpoint._predictors) == {served.v2}
    await h.endpoint.aclose()


async def test_audit_rows_land_in_postgres(tmp_path: Path, served: ServedRegistry, model_pg_dsn: str) -> None:
    import asyncpg

    from vitae.stores.model_audit import list_model_events

    h = await start(tmp_path, served.registry, audit=PostgresAudit(model_pg_dsn))
    await h.deploy("green", served.v2, actor="asha", reason="canary")
    await h.traffic({"blue": 80, "green": 20})
    await h.endpoint.aclose()
    pool = await asyncpg.create_pool(model_pg_dsn, min_size=1, max_size=1)
    try:
        events = await list_model_events(pool, model_name="vitae-test", limit=10)
    finally:
        await pool.close()
    mine = [e for e in events if (e["details"] or {}).get("endpoint") == ENDPOINT_NAME][:3]
    assert [(e["action"], e["target"], e["actor"]) for e in mine] == [
        ("traffic", ENDPOINT_NAME, "pytest"),
        ("deploy", "green", "asha"),
        ("deploy", "blue", "pytest"),
    ]
    assert mine[0]["details"]["traffic"] == {"blue": 80, "green": 20}


async def test_traffic_assignments_parse_like_az_ml() -> None:
    assert parse_assignments(["blue=90", "green=10"]) == {"blue": 90, "green": 10}
    assert parse_assignments(["blue=90,green=10"]) == {"blue": 90, "green": 10}
    with pytest.raises(StateError):
        parse_assignments(["blue"])
    with pytest.raises(StateError):
        parse_assignments(["blue=ninety"])

"""Real servers for the enrichment API and the worker gateway.

PostgreSQL and Azurite are the stack's own services (``vitae.stack.infra``), started alone:
``vitae.stack.up(apps=False)`` would also start the Cosmos emulator, which these tests do not
use and which takes most of a minute. Temporal is a dev server with a worker running the
enrichment workflows and the real record activity. The apps are built from their routers
with their services on ``app.state`` and called in-process through ``httpx.ASGITransport``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, cast

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.enrichment_store import EnrichmentStoreActivities
from activities.run_workflows import RunWorkflowActivities
from api.deps import ApiServices
from api.routes import cvs, enrichment
from tests.conftest import BIN
from vitae.enrichment_contracts import RunPolicy
from vitae.enrichment_core import EnrichmentCore
from vitae.settings import Settings
from vitae.stack import down, processes
from vitae.stack.infra import Azurite, Postgres
from vitae.stack.service import StackContext
from vitae.stack.state import StatePaths, port_allocation_lock
from vitae.stores.blob import BlobStore
from vitae.stores.enrichment_runs import EnrichmentRuns
from vitae.stores.ledger import Ledger
from vitae.stores.migrations import apply_migrations
from vitae.stores.worker_keys import WorkerKeys
from vitae.telemetry import setup_telemetry
from worker_gateway import routes as gateway_routes
from worker_gateway.deps import GatewayServices
from workflows.enrichment import EnrichmentRunWorkflow, EnrichmentSubjectWorkflow
from workflows.sandbox import workflow_runner

TASK_QUEUE = "enrichment-api-tests"


@pytest.fixture(scope="session")
def infra_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    state_dir: Path = tmp_path_factory.mktemp("enrichment-api-stack")
    paths = StatePaths.at(state_dir)
    paths.ensure()
    ctx = StackContext(paths=paths)
    services = [Postgres(), Azurite()]
    try:
        with port_allocation_lock():
            reserved: set[int] = set()
            ports = {
                s.name: {role: processes.choose_port([None], reserved) for role in s.preferred_ports} for s in services
            }
            with ThreadPoolExecutor(len(services)) as pool:
                list(pool.map(lambda s: s.start(ctx, ports[s.name], timeout=60), services))
        env: dict[str, str] = {}
        for service in services:
            env.update(service.stack_env(ctx, ports[service.name]))
        settings = Settings(
            database_url=SecretStr(env["VITAE_DATABASE_URL"]),
            blob_account_url=env["VITAE_BLOB_ACCOUNT_URL"],
            blob_connection_string=SecretStr(env["VITAE_BLOB_CONNECTION_STRING"]),
            state_dir=state_dir,
            temporal_task_queue=TASK_QUEUE,
            emit_local_events=False,
        )
        asyncio.run(apply_migrations(settings.database_url.get_secret_value()))
        yield settings
    finally:
        down(state_dir, purge=True)


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def pool(infra_settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    pg = await asyncpg.create_pool(infra_settings.database_url.get_secret_value(), min_size=1, max_size=10)
    yield pg
    await pg.close()


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def blobs(infra_settings: Settings) -> AsyncIterator[BlobStore]:
    store = BlobStore.from_settings(infra_settings)
    await store.ensure_containers(infra_settings.artifacts_container)
    yield store
    await store.close()


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def temporal(pool: asyncpg.Pool) -> AsyncIterator[Client]:
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(BIN / "temporal"))
    worker = Worker(
        env.client,
        task_queue=TASK_QUEUE,
        workflows=[EnrichmentSubjectWorkflow, EnrichmentRunWorkflow],
        activities=[
            EnrichmentStoreActivities(EnrichmentRuns(pool)).record_run,
            RunWorkflowActivities(env.client).start_run,
        ],
        workflow_runner=workflow_runner(),
    )
    async with worker:
        yield env.client
    await env.shutdown()


@dataclass
class Harness:
    core: EnrichmentCore
    api: httpx.AsyncClient  # tenant "acme"
    other_tenant: httpx.AsyncClient  # tenant "globex"
    gateway_app: FastAPI
    core_app: FastAPI
    worker_keys: WorkerKeys
    blobs: BlobStore
    settings: Settings
    # A fresh enricher type per test: leasing "the next queued run" never sees other tests' runs.
    enricher: str
    user_id: str

    def gateway(self, key: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.gateway_app),
            base_url="https://gateway.test",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )

    def core_client(self, key: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.core_app),
            base_url="https://api.test",
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )

    async def worker_key(self, *types: str) -> str:
        issued = await self.worker_keys.issue(f"worker-{uuid.uuid4().hex[:6]}", types or (self.enricher,))
        return issued.secret

    async def new_cv(self, text: str = "Jane Doe\nPython developer") -> str:
        response = await self.api.post(
            "/v1/cvs", json={"userId": self.user_id, "format": "html", "content": f"<p>{text}</p>"}
        )
        assert response.status_code in (200, 201), response.text
        return str(response.json()["cvVersionId"])

    async def create_run(
        self, job_id: str, cv_version_id: str, *, idempotency_key: str | None = None, title: str = "Backend engineer"
    ) -> dict[str, Any]:
        response = await self.api.post(
            "/v1/enrichment/runs",
            json={
                "enricherType": self.enricher,
                "jobId": job_id,
                "userId": self.user_id,
                "cvVersionId": cv_version_id,
                "job": {"title": title, "description": "Python, PostgreSQL, Temporal."},
            },
            headers={"Idempotency-Key": idempotency_key} if idempotency_key else {},
        )
        assert response.status_code == 202, response.text
        return cast(dict[str, Any], response.json())

    async def latest(self, job_id: str) -> dict[str, Any]:
        response = await self.api.get(
            f"/v1/enrichment/subjects/{job_id}/{self.user_id}/latest", params={"enricherType": self.enricher}
        )
        assert response.status_code == 200, response.text
        return cast(dict[str, Any], response.json()["run"])


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def tenants(infra_settings: Settings, pool: asyncpg.Pool) -> dict[str, str]:
    ledger = Ledger(pool)
    keys = {}
    for tenant in ("acme", "globex"):
        await ledger.ensure_tenant(tenant)
        keys[tenant] = (await ledger.issue_api_key(tenant, "enrichment-api tests")).secret
    return keys


@pytest_asyncio.fixture(loop_scope="session")
async def harness(
    infra_settings: Settings, pool: asyncpg.Pool, blobs: BlobStore, temporal: Client, tenants: dict[str, str]
) -> AsyncIterator[Harness]:
    core = EnrichmentCore(
        pool=pool,
        blobs=blobs,
        temporal=temporal,
        container=infra_settings.artifacts_container,
        task_queue=TASK_QUEUE,
        policy=RunPolicy(lease_ttl_seconds=60),
    )
    telemetry = setup_telemetry(infra_settings, "api")
    core_app = FastAPI()
    core_app.include_router(cvs.router)
    core_app.include_router(enrichment.router)
    # The routes under test use only the settings, the ledger (tenant auth) and the Core; the
    # services they never touch (Cosmos results, job events…) are None, by field name.
    used = {"settings": infra_settings, "ledger": Ledger(pool), "blobs": blobs, "temporal": temporal}
    used["telemetry"] = telemetry
    core_app.state.services = ApiServices(**{f.name: used.get(f.name) for f in fields(ApiServices)})
    core_app.state.enrichment = core
    gateway_app = FastAPI()
    gateway_app.include_router(gateway_routes.router)
    gateway_app.state.gateway = GatewayServices(core, max_wait_seconds=5, poll_seconds=0.1)

    def tenant_client(key: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=core_app),
            base_url="https://api.test",
            headers={"X-API-Key": key},
            timeout=30,
        )

    async with tenant_client(tenants["acme"]) as api, tenant_client(tenants["globex"]) as other:
        yield Harness(
            core=core,
            api=api,
            other_tenant=other,
            gateway_app=gateway_app,
            core_app=core_app,
            worker_keys=WorkerKeys(pool),
            blobs=blobs,
            settings=infra_settings,
            enricher=f"t{uuid.uuid4().hex[:10]}.v1",
            user_id=f"user-{uuid.uuid4().hex[:8]}",
        )
    # The pool is the fixture's (not closed here); the Core's own input reader is.
    await core.close()

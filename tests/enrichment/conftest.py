"""Fixtures for the enrichment runs: a fake read model, a dev server, a real PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from tests.conftest import BIN
from vitae.enrichment_contracts import EnrichmentActivity, RunSnapshot, RunStatus
from vitae.stack import down, up
from vitae.stores.enrichment_runs import EnrichmentRuns
from vitae.stores.migrations import apply_migrations


class FakeRunStore:
    """The record activity faked at its boundary: every call is kept, and a version-guarded
    view of the rows shows what the real store would hold."""

    def __init__(self) -> None:
        self.writes: list[RunSnapshot] = []
        self.rows: dict[str, RunSnapshot] = {}
        # Writes of these statuses wait for ``release``: keeps a finishing run open, so a
        # test can talk to it after its terminal transition but before it closes.
        self.hold: set[RunStatus] = set()
        self.release = asyncio.Event()

    @activity.defn(name=EnrichmentActivity.RECORD_RUN)
    async def record_run(self, snapshot: RunSnapshot) -> bool:
        if snapshot.status in self.hold:
            await self.release.wait()
        self.writes.append(snapshot)
        current = self.rows.get(snapshot.run_id)
        if current is not None and current.state_version >= snapshot.state_version:
            return False
        self.rows[snapshot.run_id] = snapshot
        return True

    def statuses(self, run_id: str) -> list[str]:
        return [w.status.value for w in self.writes if w.run_id == run_id]


async def eventually(check: Callable[[], bool], timeout: float = 10, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def fake_store() -> FakeRunStore:
    return FakeRunStore()


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def dev_server_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(BIN / "temporal"))
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def postgres_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # The stack's private PostgreSQL (infra only, no provisioning): the same server and
    # migrations as production, torn down with the session.
    state_dir: Path = tmp_path_factory.mktemp("enrichment-stack")
    try:
        info = up(state_dir, apps=False, provision=False, quiet=True)
        dsn = info.env["VITAE_DATABASE_URL"]
        asyncio.run(apply_migrations(dsn))
        yield dsn
    finally:
        down(state_dir, purge=True)


@pytest_asyncio.fixture(loop_scope="session")
async def run_store(postgres_dsn: str) -> AsyncIterator[EnrichmentRuns]:
    runs = await EnrichmentRuns.connect(postgres_dsn, max_size=4)
    yield runs
    await runs.close()

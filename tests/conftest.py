"""Shared fixtures: Temporal servers from the pip packages (offline, no downloads)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(BIN / "temporal-test-server"))
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue(request: pytest.FixtureRequest) -> str:
    # A fresh task queue per test, so a test can never pick up another test's work.
    return f"tq-{request.node.name}"

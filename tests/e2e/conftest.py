"""The real local stack for end-to-end tests, started once per session by ``vitae.stack.up``.

Temporal dev server, Azurite, the Cosmos emulator, a private PostgreSQL cluster, the MLflow
registry (a model is trained and registered on first start), the worker, bridge, event
emulator and API — the same processes and code paths as ``vitae up``.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from vitae.settings import Settings
from vitae.stack import StackInfo, down, up

TERMINAL = {"succeeded", "failed"}


@dataclass
class LiveStack:
    info: StackInfo
    state_dir: Path
    settings: Settings
    api_url: str
    api_key: str


def _interrupt_on_termination() -> None:
    """Turn SIGTERM/SIGHUP (a CI timeout, a closed terminal) into KeyboardInterrupt.

    Python's default for these is to die on the spot, skipping fixture teardown and leaving
    the stack's servers running; an interrupt unwinds through ``down`` like Ctrl-C does.
    """

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) in (signal.SIG_DFL, None):
            signal.signal(sig, interrupt)


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    _interrupt_on_termination()
    state_dir = tmp_path_factory.mktemp("vitae-e2e")
    # Workers re-read the model alias every 2 s (30 s by default), so rollout tests are quick.
    os.environ["VITAE_MODEL_REFRESH_SECONDS"] = "2"
    try:
        info = up(state_dir, quiet=True, timeout=120)
        settings = Settings(**{k.removeprefix("VITAE_").lower(): v for k, v in info.env.items()})
        creds = json.loads((state_dir / "credentials.json").read_text())
        yield LiveStack(info, state_dir, settings, info.env["VITAE_API_URL"], creds["api_key"])
    finally:
        down(state_dir)
        os.environ.pop("VITAE_MODEL_REFRESH_SECONDS", None)


@pytest_asyncio.fixture(loop_scope="session")
async def api(live_stack: LiveStack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=live_stack.api_url, headers={"X-API-Key": live_stack.api_key}, timeout=30
    ) as client:
        yield client


async def upload(api: httpx.AsyncClient, path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        response = await api.post("/v1/resumes", files={"file": (path.name, fh, "application/pdf")})
    assert response.status_code == 202, response.text
    return response.json()  # type: ignore[no-any-return]


async def wait_for_job(api: httpx.AsyncClient, job_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            response = await api.get(f"/v1/jobs/{job_id}", params={"wait": min(20.0, remaining)})
        except httpx.TransportError:
            # A pooled keep-alive connection the server closed just as it was reused (uvicorn
            # drops idle ones after 5 s): a polling client asks again, as any real one would.
            await asyncio.sleep(0.1)
            continue
        if response.status_code == 200 and response.json()["status"] in TERMINAL:
            return response.json()  # type: ignore[no-any-return]
        if response.status_code != 200:
            await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout}s")

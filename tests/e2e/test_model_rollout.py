"""Workers follow the registry alias: a promotion (and a rollback) reaches running workers
without a restart or redeploy."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import FIXTURES
from tests.e2e.conftest import LiveStack, upload, wait_for_job

pytestmark = [pytest.mark.stack, pytest.mark.asyncio(loop_scope="session")]


def vitae(stack: LiveStack, *args: str, extra_env: dict[str, str] | None = None) -> str:
    env = {**stack.info.env, "PATH": "/usr/bin:/bin", "VITAE_STATE_DIR": str(stack.state_dir), **(extra_env or {})}
    return subprocess.run(
        [sys.executable, "-m", "vitae", *args], check=True, capture_output=True, text=True, env=env, timeout=300
    ).stdout


async def served_version(api: httpx.AsyncClient) -> str:
    accepted = await upload(api, FIXTURES / "resume_ok.pdf")
    return str((await wait_for_job(api, accepted["jobId"]))["model"]["version"])


async def wait_for_version(api: httpx.AsyncClient, version: str, timeout: float = 60) -> None:
    for _ in range(int(timeout / 2)):
        if await served_version(api) == version:
            return
        await asyncio.sleep(2)
    raise AssertionError(f"workers never served version {version}")


async def test_promotion_and_rollback_reach_running_workers(
    live_stack: LiveStack, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    original = await served_version(api)
    # A quick version trained on generated data (no ../shared/data in that folder). The gate
    # evaluates on the held-out split of the configured data, so both commands see generated
    # data only: the candidate must beat production on the generated held-out split.
    generated_only = {"VITAE_DATA_DIR": str(tmp_path)}
    trained = json.loads(
        vitae(live_stack, "model", "train", "--promote", "--reason", "e2e rollout", extra_env=generated_only)
    )
    new = str(trained["version"])
    assert new != original and trained["promoted"] == "production"
    await wait_for_version(api, new)
    vitae(live_stack, "model", "rollback", "--to", original, "--reason", "e2e rollback")
    await wait_for_version(api, original)
    audit = json.loads(vitae(live_stack, "model", "audit", "--json"))
    assert [e["action"] for e in audit[:2]] == ["rollback", "promote"]

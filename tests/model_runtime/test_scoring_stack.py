"""The scoring endpoint as ``vitae up`` runs it: only in endpoint mode, as its own process
(``python -m model_runtime.serving``), bootstrapping ``blue`` from the production alias with an
audit row in PostgreSQL, healthy only once ready."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from vitae.stack import processes
from vitae.stack.apps import Scoring, all_app_services, app_services, endpoint_serving
from vitae.stack.service import StackContext
from vitae.stack.state import StatePaths

from .scoring_support import ADMIN_KEY, RESUME, SCORING_KEY, ServedRegistry, free_port, served

__all__ = ["served"]


def test_the_scoring_app_runs_only_in_endpoint_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("VITAE_MODEL_SERVING", raising=False)
    assert not endpoint_serving()
    assert "scoring" not in [app.name for app in app_services()]
    monkeypatch.setenv("VITAE_MODEL_SERVING", "endpoint")
    assert [app.name for app in app_services()][:2] == ["scoring", "worker"]
    monkeypatch.setenv("VITAE_MODEL_SERVING", "inprocess")
    assert "scoring" not in [app.name for app in app_services()]
    # down/status know it whatever the mode, so a stack started in endpoint mode always stops cleanly.
    assert "scoring" in [app.name for app in all_app_services()]
    ctx = StackContext(paths=StatePaths.at(tmp_path / "stack"))
    assert Scoring().stack_env(ctx, {"http": 8093}) == {
        "VITAE_MODEL_SERVING": "endpoint",
        "VITAE_SCORING_URL": "http://127.0.0.1:8093/score",
    }


def test_scoring_process_bootstraps_blue_and_audits_it(
    tmp_path: Path, served: ServedRegistry, model_pg_dsn: str
) -> None:
    registry = served.registry
    paths = StatePaths.at(tmp_path / "stack")
    paths.ensure()
    env = {
        **os.environ,
        "VITAE_ENVIRONMENT": "test",
        "VITAE_MLFLOW_TRACKING_URI": registry.tracking_uri,
        "VITAE_MLFLOW_ARTIFACT_ROOT": registry.artifact_root,
        "VITAE_MODEL_NAME": registry.model_name,
        "VITAE_DATABASE_URL": model_pg_dsn,
        "VITAE_SCORING_KEY": SCORING_KEY,
        "VITAE_SCORING_ADMIN_KEY": ADMIN_KEY,
        "VITAE_MODEL_AUDIT_ACTOR": "vitae-up-test",
    }
    ctx = StackContext(paths=paths, base_env=env, cwd=Path(__file__).resolve().parents[2])
    ports = {"http": free_port()}
    scoring = Scoring()
    record = scoring.start(ctx, ports, timeout=90)  # returns once /health/ready answers 200
    try:
        url = scoring.base_url(ports)
        response = httpx.post(
            f"{url}/score", json={"text": RESUME}, headers={"Authorization": f"Bearer {SCORING_KEY}"}, timeout=30
        )
        assert response.status_code == 200, response.text
        assert response.headers["azureml-model-deployment"] == "blue"
        assert response.json()["modelVersion"] == served.v1
        state = json.loads((paths.root / "scoring" / "endpoint.json").read_text())
        assert state["traffic"] == {"blue": 100}
    finally:
        processes.terminate(record)
    import asyncio

    import asyncpg

    async def bootstrap_rows() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(model_pg_dsn)
        try:
            return await conn.fetch(
                "SELECT actor, action, version, target FROM model_audit WHERE model_name = $1 AND reason LIKE $2",
                registry.model_name,
                "bootstrap: endpoint state%",
            )
        finally:
            await conn.close()

    rows = [tuple(r) for r in asyncio.run(bootstrap_rows())]
    assert ("vitae-up-test", "deploy", served.v1, "blue") in rows

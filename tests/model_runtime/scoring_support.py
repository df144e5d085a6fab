"""Shared pieces of the scoring-endpoint tests: a real MLflow registry with three versions of
a small trained model, settings pointing at a temp state dir, and a live uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from model_runtime.promotion import EvalSet
from model_runtime.registry import ModelRegistry
from model_runtime.training import TrainResult
from vitae.settings import Settings

from .conftest import make_registry, promote_for_test

SCORING_KEY = "test-scoring-key"
ADMIN_KEY = "test-admin-key"
RESUME = """Asha Rao
Senior Software Engineer
asha.rao@example.com | +1 415 555 0100 | linkedin.com/in/asharao
Bengaluru, India

Experience
Senior Software Engineer, Acme Corp, 2019 - 2024
Software Engineer, Globex, 2015 - 2019

Skills: Python, SQL, Kubernetes, Docker

Education
B.Tech in Computer Science, IIT Madras, 2015
"""


@dataclass
class ServedRegistry:
    registry: ModelRegistry
    v1: str  # stage=prod, alias production (what bootstrap deploys to blue)
    v2: str  # stage=prod, alias champion
    v3: str  # registered, never promoted: not deployable


def build_registry(folder: Path, empty_store: Path, tiny_result: TrainResult, tiny_eval: EvalSet) -> ServedRegistry:
    registry = make_registry(folder, empty_store)
    v1 = registry.register(tiny_result)
    v2 = registry.register(tiny_result)
    v3 = registry.register(tiny_result)
    promote_for_test(registry, v1, tiny_eval, alias="production")
    promote_for_test(registry, v2, tiny_eval, alias="champion")
    assert registry.get_version(v1.version).tags["stage"] == "prod"
    assert registry.get_version(v2.version).tags["stage"] == "prod"
    assert registry.get_version(v3.version).tags.get("stage") != "prod"
    return ServedRegistry(registry, v1.version, v2.version, v3.version)


_built: list[ServedRegistry] = []


@pytest.fixture(scope="session")
def served(
    tmp_path_factory: pytest.TempPathFactory, empty_store: Path, tiny_result: TrainResult, tiny_eval: EvalSet
) -> ServedRegistry:
    """Built once per session and shared by the test modules that import it (read-only: tests
    change endpoint state, never the registry)."""
    if not _built:
        _built.append(build_registry(tmp_path_factory.mktemp("scoring-registry"), empty_store, tiny_result, tiny_eval))
    return _built[0]


def scoring_settings(state_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "state_dir": state_dir,
        "scoring_key": SCORING_KEY,
        "scoring_admin_key": ADMIN_KEY,
        **overrides,
    }
    return Settings(**values)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A real uvicorn server for ``app`` on its own thread and event loop (lifespan included)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, name="scoring-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("scoring server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)

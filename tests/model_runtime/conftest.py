from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from model_runtime.audit_event import ModelEvent
from model_runtime.promotion import EvalSet, GateConfig, evaluation_set, promote
from model_runtime.registry import ModelRef, ModelRegistry
from model_runtime.training import TrainConfig, TrainResult, train_model

TINY = TrainConfig(epochs=3, n_buckets=1 << 14, generated_docs=60, use_skill_lexicon=False)
# A deliberately poor model: one epoch over five documents (micro F1 ~0.5; NAME and SKILL ~0).
WEAK = dataclasses.replace(TINY, epochs=1, max_train_docs=5)
NO_DATA = "no-shared-data"


def tiny_model(out: Path, seed: int = 13, config: TrainConfig = TINY) -> TrainResult:
    # A data dir that does not exist forces the generated corpus: fast and deterministic.
    return train_model(out, data_dir=out.parent / NO_DATA, seed=seed, config=config)


@pytest.fixture(scope="session")
def tiny_result(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    return tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def weak_result(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    return tiny_model(tmp_path_factory.mktemp("weak") / "model", config=WEAK)


@pytest.fixture(scope="session")
def tiny_eval(tmp_path_factory: pytest.TempPathFactory) -> EvalSet:
    """The held-out split of the TINY generated corpus (seed 13): what tiny models never train on."""
    return evaluation_set(tmp_path_factory.mktemp("eval") / NO_DATA, config=TINY)


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised, empty MLflow SQLite store (schema migrations run once per session)."""
    folder = tmp_path_factory.mktemp("mlflow-template")
    db = folder / "mlflow.db"
    ModelRegistry(f"sqlite:///{db}", (folder / "a").as_uri(), "init", folder / "c").list_versions()
    return db


class MemoryGovernance:
    """The governance store's contract in memory: append-only events and lineage, and a
    session that keeps its writes only when its block succeeds (like the SQL transaction)."""

    def __init__(self) -> None:
        self.audit: list[dict[str, Any]] = []
        self.lineage_rows: dict[tuple[str, str], dict[str, str]] = {}

    @contextlib.contextmanager
    def session(self, model_name: str) -> Iterator[_MemorySession]:
        session = _MemorySession(self, model_name)
        yield session
        for event in session.events:
            event["id"] = len(self.audit) + 1
            self.audit.append(event)
        for key, value in session.lineage_rows.items():
            self.lineage_rows.setdefault(key, value)

    def record_lineage(self, model_name: str, version: str, lineage: Mapping[str, str]) -> bool:
        if (model_name, version) in self.lineage_rows:
            return False
        self.lineage_rows[(model_name, version)] = dict(lineage)
        return True

    def lineage(self, model_name: str, version: str) -> dict[str, str] | None:
        row = self.lineage_rows.get((model_name, version))
        return dict(row) if row is not None else None

    def events(self, model_name: str, limit: int = 50) -> list[dict[str, Any]]:
        return [e for e in reversed(self.audit) if e["model_name"] == model_name][:limit]

    def actions(self) -> list[str]:
        return [e["action"] for e in self.audit]


class _MemorySession:
    def __init__(self, store: MemoryGovernance, model_name: str) -> None:
        self.store = store
        self.model_name = model_name
        self.events: list[dict[str, Any]] = []
        self.lineage_rows: dict[tuple[str, str], dict[str, str]] = {}

    def record(self, event: ModelEvent) -> int:
        self.events.append(event.to_json())
        return len(self.store.audit) + len(self.events)

    def record_lineage(self, version: str, lineage: Mapping[str, str]) -> bool:
        key = (self.model_name, version)
        if key in self.store.lineage_rows or key in self.lineage_rows:
            return False
        self.lineage_rows[key] = dict(lineage)
        return True


def make_registry(tmp_path: Path, empty_store: Path, governance: Any = None) -> ModelRegistry:
    shutil.copy(empty_store, tmp_path / "mlflow.db")
    return ModelRegistry(
        f"sqlite:///{tmp_path / 'mlflow.db'}",
        (tmp_path / "artifacts").as_uri(),
        "vitae-test",
        tmp_path / "cache",
        governance=governance if governance is not None else MemoryGovernance(),
        gate=GateConfig(),
        data_dir=tmp_path / NO_DATA,
    )


@pytest.fixture()
def registry(tmp_path: Path, empty_store: Path) -> ModelRegistry:
    """A fresh SQLite MLflow registry with an in-memory governance store."""
    return make_registry(tmp_path, empty_store)


def promote_for_test(registry: ModelRegistry, ref: ModelRef, eval_set: EvalSet, alias: str = "production") -> None:
    """A real, gated promotion (as ``vitae model promote``) on the tiny evaluation set."""
    promote(registry, ref.version, alias=alias, actor="pytest", reason="test", eval_set=eval_set)


# --- PostgreSQL ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def model_pg_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The stack's private PostgreSQL alone (no Azurite/Cosmos/Temporal), with every migration."""
    from vitae.stack import down, processes
    from vitae.stack.infra import Postgres
    from vitae.stack.service import StackContext
    from vitae.stack.state import StatePaths, port_allocation_lock
    from vitae.stores.migrations import apply_migrations

    state_dir = tmp_path_factory.mktemp("model-pg")
    paths = StatePaths.at(state_dir)
    paths.ensure()
    ctx = StackContext(paths=paths)
    postgres = Postgres()
    try:
        with port_allocation_lock():
            ports = {"port": processes.choose_port([None, *postgres.preferred_ports.values()], set())}
            postgres.start(ctx, ports, timeout=90)
        dsn = postgres.dsn(ports)
        asyncio.run(apply_migrations(dsn))
        yield dsn
    finally:
        down(state_dir, purge=True)

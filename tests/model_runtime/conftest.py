from __future__ import annotations

from pathlib import Path

import pytest

from model_runtime.registry import ModelRegistry
from model_runtime.training import TrainConfig, TrainResult, train_model

TINY = TrainConfig(epochs=3, n_buckets=1 << 14, generated_docs=60, use_skill_lexicon=False)


def tiny_model(out: Path, seed: int = 13) -> TrainResult:
    # A data dir that does not exist forces the generated corpus: fast and deterministic.
    return train_model(out, data_dir=out.parent / "no-shared-data", seed=seed, config=TINY)


@pytest.fixture(scope="session")
def tiny_result(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    return tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised, empty MLflow SQLite store (schema migrations run once per session)."""
    folder = tmp_path_factory.mktemp("mlflow-template")
    db = folder / "mlflow.db"
    ModelRegistry(f"sqlite:///{db}", (folder / "a").as_uri(), "init", folder / "c").list_versions()
    return db

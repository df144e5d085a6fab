from __future__ import annotations

import threading
from pathlib import Path

import pytest

from model_runtime.promotion import EvalSet
from model_runtime.registry import (
    ModelRegistry,
    ProductionModel,
    ensure_production_model,
)
from model_runtime.training import TrainResult

from .conftest import promote_for_test, tiny_model


def test_register_promote_resolve_load_predict(
    registry: ModelRegistry, tiny_result: TrainResult, tiny_eval: EvalSet
) -> None:
    assert registry.resolve("production") is None
    assert registry.list_versions() == []
    ref = registry.register(tiny_result)
    assert ref.version == "1"
    for key in (
        "dataset_hash",
        "config_hash",
        "code_version",
        "mlflow_run_id",
        "data_source",
        "model_sha256",
        "artifacts_sha256",
        "micro_f1",
    ):
        assert ref.tags[key], key
    assert ref.tags["mlflow_run_id"] == ref.run_id
    assert ref.tags["dataset_hash"] == tiny_result.dataset_hash

    promote_for_test(registry, ref, tiny_eval)
    resolved = registry.resolve("production")
    assert resolved is not None and resolved.version == "1" and resolved.tags["stage"] == "prod"

    predictor = registry.load(resolved)
    assert (registry.cache_dir / "1" / "model.onnx").is_file()
    assert predictor.version == "1" and predictor.name == "vitae-test"
    prediction = predictor.predict("Asha Rao\nasha.rao@example.com\n")
    assert ("EMAIL", "asha.rao@example.com") in {(e.label, e.text) for e in prediction.entities}

    versions = registry.list_versions()
    assert versions[0]["version"] == "1" and versions[0]["aliases"] == ["production"]
    assert versions[0]["tags"]["data_source"] == "generated"

    # A tampered cache is detected and re-downloaded from the registry.
    (registry.cache_dir / "1" / "model.onnx").write_bytes(b"garbage")
    assert registry.load(resolved).predict("x@example.com").entities


def test_production_model_follows_alias(
    registry: ModelRegistry, tiny_result: TrainResult, tiny_eval: EvalSet, tmp_path: Path
) -> None:
    v1 = registry.register(tiny_result)
    # The same seeded training again: equal quality passes the gate (margin 0), a new version.
    v2 = registry.register(tiny_model(tmp_path / "second" / "model"))
    promote_for_test(registry, v1, tiny_eval)

    served = ProductionModel(registry, "production", refresh_seconds=0.0)
    assert served.get().version == v1.version

    promote_for_test(registry, v2, tiny_eval)  # the alias moves; no restart
    assert served.get().version == v2.version
    # The previous version stays deployable (rollback target); the alias shows what serves.
    assert registry.get_version(v1.version).tags["stage"] == "prod"

    # A failing refresh keeps serving the current predictor.
    def broken(alias: str) -> None:
        raise RuntimeError("registry down")

    registry.resolve = broken  # type: ignore[method-assign,assignment]
    assert served.get().version == v2.version
    assert served.last_error and "registry down" in served.last_error

    # Thread-safe under concurrent use.
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(served.get().predict("a@b.co").model_version)) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [v2.version] * 8


def test_production_model_caches_between_refreshes(
    registry: ModelRegistry, tiny_result: TrainResult, tiny_eval: EvalSet
) -> None:
    ref = registry.register(tiny_result)
    promote_for_test(registry, ref, tiny_eval)
    served = ProductionModel(registry, "production", refresh_seconds=3600)
    first = served.get()
    calls = []
    original = registry.resolve
    registry.resolve = lambda alias: calls.append(alias) or original(alias)  # type: ignore[method-assign]
    assert served.get() is first and calls == []


def test_ensure_production_model_trains_once(
    registry: ModelRegistry, tiny_eval: EvalSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import model_runtime.registry as reg_mod

    trained: list[Path] = []

    def fake_train(out: Path, *, data_dir: Path | None = None, seed: int = 13) -> TrainResult:
        trained.append(out)
        return tiny_model(out)

    monkeypatch.setattr(reg_mod, "train_model", fake_train)
    ref = ensure_production_model(registry, "production", data_dir=None, work_dir=tmp_path / "work", eval_set=tiny_eval)
    assert ref.version == "1" and ref.tags["stage"] == "prod"
    again = ensure_production_model(registry, "production", data_dir=None, work_dir=tmp_path / "work")
    assert again.version == "1" and len(trained) == 1
    # The bootstrap went through the gate (minimums only: nothing served yet) and is audited.
    assert registry.governance.actions() == ["bootstrap"]  # type: ignore[union-attr]
    assert ref.tags["gate_result"] == "passed" and ref.tags["gate_vs"] == "none"

"""Model governance: the quality gate, promotion refusals, rollback, lineage immutability and
tamper detection, and the append-only audit trail in PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import asyncpg
import pytest

from model_runtime.audit_event import ModelEvent
from model_runtime.promotion import (
    EvalSet,
    GateConfig,
    GovernanceUnavailable,
    PostgresGovernance,
    PromotionRefused,
    promote,
    rollback,
    run_gate,
)
from model_runtime.registry import (
    LineageError,
    ModelRegistry,
    NotDeployableError,
    ProductionModel,
    ensure_production_model,
    registry_from_settings,
)
from model_runtime.training import TrainResult
from vitae.cli import main
from vitae.settings import get_settings
from vitae.stores.model_audit import list_model_events, record_model_event

from .conftest import TINY, WEAK, MemoryGovernance, make_registry, promote_for_test, tiny_model

ONE_EPOCH = dataclasses.replace(TINY, epochs=1)

ALIAS = "production"


def _promote(registry: ModelRegistry, version: str, eval_set: EvalSet, **kwargs: Any) -> Any:
    return promote(registry, version, alias=ALIAS, actor="alice", reason="ticket-1", eval_set=eval_set, **kwargs)


def _gov(registry: ModelRegistry) -> MemoryGovernance:
    assert isinstance(registry.governance, MemoryGovernance)
    return registry.governance


def _artifacts(registry: ModelRegistry, run_id: str, path: str) -> list[str]:
    return [a.path for a in registry._client.list_artifacts(run_id, path)]


# --- the gate ---------------------------------------------------------------------------------------


def test_gate_passes_a_better_model_and_records_everything(
    registry: ModelRegistry, tiny_result: TrainResult, tiny_eval: EvalSet, tmp_path: Path
) -> None:
    # One epoch instead of three (micro F1 ~0.96 vs ~0.99), bootstrapped under a lenient gate.
    v1 = registry.register(tiny_model(tmp_path / "e1" / "model", config=ONE_EPOCH))
    first = _promote(registry, v1.version, tiny_eval, config=GateConfig(min_micro_f1=0.0, min_label_f1={"NAME": 0.0}))
    # Empty registry: only the absolute checks (lineage, held-out set, minimums).
    assert first.decision.passed and first.previous is None
    assert {c.name for c in first.decision.checks} == {"lineage", "eval_set_disjoint", "min_micro_f1", "min_f1:NAME"}

    v2 = registry.register(tiny_result)
    outcome = _promote(registry, v2.version, tiny_eval)
    assert outcome.decision.passed and outcome.previous == v1.version
    names = {c.name for c in outcome.decision.checks}
    assert "beats_production" in names and "no_regression:SKILL" in names
    assert outcome.decision.micro_f1("candidate") >= outcome.decision.micro_f1("production")  # type: ignore[operator]

    assert registry.resolve(ALIAS).version == v2.version  # type: ignore[union-attr]
    tags = registry.get_version(v2.version).tags
    assert tags["stage"] == "prod" and tags["gate_result"] == "passed" and tags["gate_vs"] == v1.version
    assert registry.get_version(v1.version).tags["stage"] == "prod"  # stays deployable

    # The gate report is an artifact of the candidate's run.
    assert outcome.gate_artifact and outcome.gate_artifact.startswith("gate/")
    assert outcome.gate_artifact in _artifacts(registry, v2.run_id, "gate")
    local = registry._client.download_artifacts(v2.run_id, outcome.gate_artifact, str(tmp_path / "dl"))
    report = json.loads(Path(local).read_text())
    assert report["passed"] is True and report["production_version"] == v1.version
    assert report["eval_set"]["source"] == "generated" and report["eval_set"]["documents"] == len(tiny_eval.docs)
    assert set(report["candidate_report"]["labels"]) >= {"NAME", "SKILL"}

    events = _gov(registry).audit
    assert [e["action"] for e in events] == ["promote", "promote"]
    assert events[1] | {"details": None} == {
        "id": 2,
        "action": "promote",
        "actor": "alice",
        "model_name": "vitae-test",
        "version": v2.version,
        "from_version": v1.version,
        "target": ALIAS,
        "reason": "ticket-1",
        "details": None,
    }
    assert events[1]["details"]["passed"] is True and events[1]["details"]["gate_report"] == outcome.gate_artifact

    listed = {v["version"]: v for v in registry.list_versions()}
    assert listed[v2.version]["aliases"] == [ALIAS] and listed[v2.version]["stage"] == "prod"
    assert listed[v2.version]["gate"]["result"] == "passed"
    assert set(listed[v2.version]["lineage"]) >= {"dataset_hash", "config_hash", "code_version", "mlflow_run_id"}


def test_gate_refuses_a_worse_model(
    registry: ModelRegistry, tiny_result: TrainResult, weak_result: TrainResult, tiny_eval: EvalSet
) -> None:
    v1 = registry.register(tiny_result)
    promote_for_test(registry, v1, tiny_eval)
    # One epoch over five documents: ~0.5 micro F1 against production's ~0.99.
    worse = registry.register(weak_result)
    with pytest.raises(PromotionRefused) as refused:
        _promote(registry, worse.version, tiny_eval)
    decision = refused.value.decision
    assert decision is not None and not decision.passed
    assert any(r.startswith("beats_production:") for r in decision.reasons), decision.reasons

    assert registry.resolve(ALIAS).version == v1.version  # type: ignore[union-attr]
    tags = registry.get_version(worse.version).tags
    assert "stage" not in tags and tags["gate_result"] == "refused"
    assert tags["gate_report"] in _artifacts(registry, worse.run_id, "gate")
    last = _gov(registry).audit[-1]
    assert last["action"] == "promote_refused" and last["version"] == worse.version
    assert last["from_version"] == v1.version and last["details"]["reasons"] == decision.reasons
    assert refused.value.audit_id == last["id"]
    # Never deployable: neither the alias nor a rollback can point at it.
    with pytest.raises(NotDeployableError):
        registry.move_alias(ALIAS, worse.version)


def test_gate_refuses_on_per_label_minimums(
    registry: ModelRegistry, weak_result: TrainResult, tiny_result: TrainResult, tiny_eval: EvalSet
) -> None:
    # No production at all: the minimums alone refuse a weak bootstrap candidate.
    weak = registry.register(weak_result)
    with pytest.raises(PromotionRefused) as refused:
        _promote(registry, weak.version, tiny_eval)
    reasons = refused.value.decision.reasons  # type: ignore[union-attr]
    assert any(r.startswith("min_f1:NAME:") for r in reasons), reasons
    assert registry.resolve(ALIAS) is None

    # One label under its minimum is enough: DEGREE's minimum set just above what it scores.
    good = registry.register(tiny_result)
    passing = run_gate(registry, good.version, alias=ALIAS, eval_set=tiny_eval)
    assert passing.passed, passing.reasons
    degree = passing.candidate_report["labels"]["DEGREE"]["f1"]  # type: ignore[index]
    strict = GateConfig(min_label_f1={**GateConfig().min_label_f1, "DEGREE": degree + 0.001})
    decision = run_gate(registry, good.version, alias=ALIAS, config=strict, eval_set=tiny_eval)
    assert [r.split(":")[0:2] for r in decision.reasons] == [["min_f1", "DEGREE"]]
    with pytest.raises(PromotionRefused):
        _promote(registry, good.version, tiny_eval, config=strict)
    assert _gov(registry).actions() == ["promote_refused", "promote_refused"]


def test_gate_refuses_a_label_regression_even_when_micro_improves(
    registry: ModelRegistry, tiny_result: TrainResult, tiny_eval: EvalSet, tmp_path: Path
) -> None:
    v1 = registry.register(tiny_result)
    promote_for_test(registry, v1, tiny_eval)
    v2 = registry.register(tiny_model(tmp_path / "again" / "model"))  # the same model again (training is seeded)
    assert run_gate(registry, v2.version, alias=ALIAS, eval_set=tiny_eval).passed  # equal is enough (margin 0)
    # A negative tolerance demands every label improve by 0.01: each one refuses on its own.
    decision = run_gate(registry, v2.version, alias=ALIAS, config=GateConfig(label_tolerance=-0.01), eval_set=tiny_eval)
    assert not decision.passed
    assert all(r.startswith("no_regression:") for r in decision.reasons), decision.reasons
    assert len(decision.reasons) == len(decision.candidate_report["labels"])  # type: ignore[index]


def test_gate_refuses_a_candidate_trained_on_the_evaluation_set(
    registry: ModelRegistry, tiny_eval: EvalSet, tmp_path: Path
) -> None:
    # Same corpus and seed but a smaller hold-out: part of the evaluation set was trained on.
    leaky = registry.register(
        tiny_model(tmp_path / "leak" / "model", config=dataclasses.replace(TINY, test_fraction=0.1))
    )
    with pytest.raises(PromotionRefused) as refused:
        _promote(registry, leaky.version, tiny_eval)
    reasons = refused.value.decision.reasons  # type: ignore[union-attr]
    assert any(r.startswith("eval_set_disjoint:") and "were in the candidate's training data" in r for r in reasons)


def test_promotion_needs_an_audit_trail(tmp_path: Path, empty_store: Path, tiny_result: TrainResult) -> None:
    registry = make_registry(tmp_path, empty_store)
    registry.governance = None
    ref = registry.register(tiny_result)
    with pytest.raises(GovernanceUnavailable):
        promote(registry, ref.version, alias=ALIAS, actor="alice")
    assert registry.resolve(ALIAS) is None


# --- lineage ------------------------------------------------------------------------------------------


def test_lineage_tags_cannot_be_changed_through_vitae(
    registry: ModelRegistry, tiny_result: TrainResult, tiny_eval: EvalSet
) -> None:
    ref = registry.register(tiny_result)
    for key in ("dataset_hash", "config_hash", "code_version", "mlflow_run_id", "model_sha256", "micro_f1"):
        with pytest.raises(LineageError, match="immutable"):
            registry.set_tag(ref.version, key, "0" * 64)
        with pytest.raises(LineageError):
            registry.delete_tag(ref.version, key)
    # stage=prod needs a passed gate decision, and is permanent once set.
    with pytest.raises(PermissionError):
        registry.set_tag(ref.version, "stage", "prod")
    promote_for_test(registry, ref, tiny_eval)
    with pytest.raises(LineageError):
        registry.set_tag(ref.version, "stage", "archived")
    with pytest.raises(LineageError):
        registry.delete_tag(ref.version, "stage")
    registry.set_tag(ref.version, "note", "free-form tags are fine")
    assert registry.get_version(ref.version).lineage() == {
        k: v for k, v in ref.tags.items() if k in registry.get_version(ref.version).lineage()
    }
    assert registry.verify_lineage(ref.version) == []
    # What registration recorded in the governance store (append-only in PostgreSQL).
    assert _gov(registry).lineage("vitae-test", ref.version) == ref.lineage()


@pytest.mark.parametrize("what", ["version_tag", "tag_and_run", "artifact"])
def test_tampering_behind_vitaes_back_is_refused_at_promotion(
    registry: ModelRegistry, tiny_result: TrainResult, tiny_eval: EvalSet, tmp_path: Path, what: str
) -> None:
    ref = registry.register(tiny_result)
    client = registry._client  # MLflow directly: what someone with registry access could do
    if what == "version_tag":
        client.set_model_version_tag(registry.model_name, ref.version, "dataset_hash", "f" * 64)
        expected = "dataset_hash tag"
    elif what == "tag_and_run":
        # A consistent edit of both MLflow copies: only the PostgreSQL copy still knows.
        client.set_model_version_tag(registry.model_name, ref.version, "code_version", "forged")
        client.set_tag(ref.run_id, "code_version", "forged")
        expected = "differs from the recorded lineage"
    else:
        registry.load(ref)  # this host caches the genuine artifacts first
        source = urlparse(client.get_model_version(registry.model_name, ref.version).source)
        metadata = Path(url2pathname(source.path)) / "metadata.json"  # model.onnx itself is untouched
        data = json.loads(metadata.read_text())
        data["temperature"] = 99.0
        metadata.write_text(json.dumps(data))
        expected = "artifacts_sha256"
        # Any host without the cache refuses to load what the store now holds.
        other_host = ModelRegistry(registry.tracking_uri, registry.artifact_root, registry.model_name, tmp_path / "c2")
        with pytest.raises(ValueError, match="integrity"):
            other_host.load(ref)
    with pytest.raises(PromotionRefused) as refused:
        _promote(registry, ref.version, tiny_eval)
    decision = refused.value.decision
    assert decision is not None and [c.name for c in decision.checks] == ["lineage"]
    assert expected in decision.reasons[0], decision.reasons
    assert registry.resolve(ALIAS) is None
    assert _gov(registry).audit[-1]["action"] == "promote_refused"


# --- rollback and serving ------------------------------------------------------------------------------


def test_rollback_moves_back_through_prod_versions_only(
    registry: ModelRegistry, tiny_result: TrainResult, tiny_eval: EvalSet, weak_result: TrainResult, tmp_path: Path
) -> None:
    v1 = registry.register(tiny_result)
    v2 = registry.register(tiny_model(tmp_path / "again" / "model"))  # equal quality: passes with margin 0
    bad = registry.register(weak_result)
    with pytest.raises(PromotionRefused):
        rollback(registry, alias=ALIAS, actor="bob", reason="nothing serves yet")
    promote_for_test(registry, v1, tiny_eval)
    promote_for_test(registry, v2, tiny_eval)
    with pytest.raises(PromotionRefused):
        _promote(registry, bad.version, tiny_eval)

    with pytest.raises(PromotionRefused, match="not stage=prod"):
        rollback(registry, alias=ALIAS, actor="bob", reason="try the new one", to_version=bad.version)
    assert registry.resolve(ALIAS).version == v2.version  # type: ignore[union-attr]

    done = rollback(registry, alias=ALIAS, actor="bob", reason="latency regression")
    assert (done.version, done.previous) == (v1.version, v2.version)
    assert registry.resolve(ALIAS).version == v1.version  # type: ignore[union-attr]
    with pytest.raises(PromotionRefused, match="no earlier"):
        rollback(registry, alias=ALIAS, actor="bob", reason="again")
    forward = rollback(registry, alias=ALIAS, actor="bob", reason="fixed", to_version=v2.version)
    assert forward.version == v2.version

    events = _gov(registry).audit
    assert [e["action"] for e in events] == [
        "rollback_refused",
        "promote",
        "promote",
        "promote_refused",
        "rollback_refused",
        "rollback",
        "rollback_refused",
        "rollback",
    ]
    rolled = events[5]
    assert (rolled["actor"], rolled["reason"], rolled["version"], rolled["from_version"], rolled["target"]) == (
        "bob",
        "latency regression",
        v1.version,
        v2.version,
        ALIAS,
    )


def test_workers_serve_only_prod_versions(registry: ModelRegistry, tiny_result: TrainResult, tmp_path: Path) -> None:
    v1 = registry.register(tiny_result)
    # The alias moved behind Vitae's back to a version that never passed the gate.
    registry._client.set_registered_model_alias(registry.model_name, ALIAS, v1.version)
    with pytest.raises(NotDeployableError):
        ProductionModel(registry, ALIAS, refresh_seconds=0).get()


def test_bootstrap_below_minimums_is_refused_loudly_and_audited(
    registry: ModelRegistry, tiny_eval: EvalSet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import model_runtime.registry as reg_mod

    monkeypatch.setattr(reg_mod, "train_model", lambda out, **_: tiny_model(out, config=WEAK))
    with pytest.raises(PromotionRefused):
        ensure_production_model(registry, ALIAS, data_dir=None, work_dir=tmp_path / "work", eval_set=tiny_eval)
    assert registry.resolve(ALIAS) is None
    event = _gov(registry).audit[-1]
    assert event["action"] == "bootstrap_refused" and event["details"]["reasons"]
    assert event["actor"]  # the OS user (or VITAE_MODEL_AUDIT_ACTOR), never a constant


# --- PostgreSQL: the audit trail and the lineage copy ----------------------------------------------------


def _sql(dsn: str, statement: str, *args: Any) -> Any:
    async def run() -> Any:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.execute(statement, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def test_model_audit_and_lineage_are_append_only_in_postgres(model_pg_dsn: str) -> None:
    async def record() -> tuple[int, list[dict[str, Any]]]:
        pool = await asyncpg.create_pool(model_pg_dsn, min_size=1, max_size=1)
        try:
            event = ModelEvent(
                action="deploy",
                actor="carol",
                model_name="append-only",
                version="3",
                reason="blue/green",
                details={"traffic": {"blue": 100}},
                target="blue",
            )
            row_id = await record_model_event(pool, event)
            return row_id, await list_model_events(pool, model_name="append-only")
        finally:
            await pool.close()

    row_id, events = asyncio.run(record())
    assert len(events) == 1 and events[0]["id"] == row_id
    assert events[0]["details"] == {"traffic": {"blue": 100}} and events[0]["at"] is not None
    with pytest.raises(ValueError, match="unknown model audit action"):
        ModelEvent(action="edit", actor="x", model_name="m", version=None)
    with pytest.raises(ValueError, match="needs an actor"):
        ModelEvent(action="deploy", actor=" ", model_name="m", version=None)

    for statement in (
        "UPDATE model_audit SET reason = 'rewritten' WHERE id = $1",
        "DELETE FROM model_audit WHERE id = $1",
    ):
        with pytest.raises(asyncpg.PostgresError, match="append-only"):
            _sql(model_pg_dsn, statement, row_id)
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        _sql(model_pg_dsn, "TRUNCATE model_audit")

    governance = PostgresGovernance(model_pg_dsn)
    assert governance.record_lineage("append-only", "1", {"dataset_hash": "a"}) is True
    assert governance.record_lineage("append-only", "1", {"dataset_hash": "b"}) is False  # never overwritten
    assert governance.lineage("append-only", "1") == {"dataset_hash": "a"}
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        _sql(model_pg_dsn, "UPDATE model_lineage SET lineage = '{}'::jsonb")
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        _sql(model_pg_dsn, "DELETE FROM model_lineage")

    # A session that fails leaves nothing behind; one that succeeds commits its rows.
    with pytest.raises(RuntimeError), governance.session("append-only") as audit:
        audit.record(ModelEvent(action="promote", actor="carol", model_name="append-only", version="9"))
        raise RuntimeError("the registry change failed")
    with governance.session("append-only") as audit:
        canary = ModelEvent(action="traffic", actor="carol", model_name="append-only", version="3", reason="canary 10%")
        audit.record(canary)
    assert [e["action"] for e in governance.events("append-only")] == ["traffic", "deploy"]


@pytest.fixture()
def pg_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_store: Path, model_pg_dsn: str
) -> Iterator[ModelRegistry]:
    """Settings for the CLI: a fresh MLflow registry, the test PostgreSQL, generated data only."""
    for key in ("VITAE_MLFLOW_TRACKING_URI", "VITAE_MLFLOW_ARTIFACT_ROOT", "VITAE_MODEL_ALIAS"):
        monkeypatch.delenv(key, raising=False)
    state = tmp_path / "state"
    (state / "mlflow").mkdir(parents=True)
    shutil.copy(empty_store, state / "mlflow" / "mlflow.db")
    monkeypatch.setenv("VITAE_STATE_DIR", str(state))
    monkeypatch.setenv("VITAE_DATABASE_URL", model_pg_dsn)
    monkeypatch.setenv("VITAE_DATA_DIR", str(tmp_path / "no-shared-data"))
    # Each test its own model name: the audit trail in the session's database is shared.
    monkeypatch.setenv("VITAE_MODEL_NAME", f"cli-{tmp_path.name}")
    monkeypatch.setenv("VITAE_MODEL_AUDIT_ACTOR", "ops-bot")
    get_settings.cache_clear()
    yield registry_from_settings(get_settings())
    get_settings.cache_clear()


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_promote_refuse_rollback_list_audit(
    pg_stack: ModelRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The CLI evaluates on the default generated held-out split (300 documents, seed 13); these
    # models train on a different generated corpus (seed 101), so they never saw it.
    first = tiny_model(tmp_path / "a" / "model", seed=101)
    same = tiny_model(tmp_path / "b" / "model", seed=101)  # seeded training: the same quality, passes with margin 0
    leaky = tiny_model(tmp_path / "c" / "model", seed=13)  # its corpus overlaps the evaluation set
    v1, v2, v3 = (pg_stack.register(r).version for r in (first, same, leaky))
    name = pg_stack.model_name
    # Registration recorded each version's lineage in PostgreSQL.
    assert pg_stack.governance.lineage(name, v1) == pg_stack.get_version(v1).lineage()  # type: ignore[union-attr]

    code, out, _ = _cli(capsys, "model", "promote", v1, "--reason", "first model")
    assert code == 0 and "PASSED" in out and f"v{v1} -> @production" in out
    code, out, _ = _cli(capsys, "model", "promote", v2, "--actor", "alice")
    assert code == 0 and f"was v{v1}" in out
    code, out, err = _cli(capsys, "model", "promote", v3, "--reason", "try it")
    assert code == 1 and "REFUSED" in err and "eval_set_disjoint" in err
    code, _, err = _cli(capsys, "model", "rollback", "--to", v3, "--reason", "desperate")
    assert code == 1 and "not stage=prod" in err
    code, out, _ = _cli(capsys, "model", "rollback", "--reason", "customer complaint")
    assert code == 0 and f"v{v2} -> v{v1}" in out
    assert pg_stack.resolve("production").version == v1  # type: ignore[union-attr]

    code, out, _ = _cli(capsys, "model", "list")
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "production" in rows[v1] and " prod " in rows[v1] and "passed" in rows[v1]
    assert " prod " in rows[v2] and f"passed vs v{v1}" in rows[v2]
    assert f"refused vs v{v2}" in rows[v3] and " prod " not in rows[v3]
    assert pg_stack.get_version(v1).tags["dataset_hash"][:12] in rows[v1]
    code, out, _ = _cli(capsys, "model", "list", "--json")
    listed = {v["version"]: v for v in json.loads(out)}
    assert listed[v1]["aliases"] == ["production"] and listed[v3]["stage"] is None
    assert listed[v3]["gate"]["result"] == "refused"

    code, out, _ = _cli(capsys, "model", "audit", "--json")
    events = list(reversed(json.loads(out)))
    assert [(e["action"], e["version"], e["actor"]) for e in events] == [
        ("promote", v1, "ops-bot"),
        ("promote", v2, "alice"),
        ("promote_refused", v3, "ops-bot"),
        ("rollback_refused", v3, "ops-bot"),
        ("rollback", v1, "ops-bot"),
    ]
    assert events[0]["reason"] == "first model" and events[4]["from_version"] == v2
    assert events[2]["details"]["reasons"] and events[2]["details"]["gate_report"].startswith("gate/")
    code, out, _ = _cli(capsys, "model", "audit")
    assert code == 0 and "customer complaint" in out and "promote_refused" in out

    # The audit rows cannot be rewritten, even by the database owner.
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        _sql(get_settings().database_url.get_secret_value(), "DELETE FROM model_audit WHERE model_name = $1", name)

    code, _, err = _cli(capsys, "model", "promote", "99")
    assert code == 2 and "no version '99'" in err

    # evaluate --gate: the same verdict, nothing written.
    code, out, _ = _cli(capsys, "model", "evaluate", "--version", v3, "--gate")
    assert code == 1 and "REFUSED" in out
    assert len(pg_stack.governance.events(name)) == 5  # type: ignore[union-attr]


def test_tampered_lineage_is_caught_by_the_postgres_copy(
    pg_stack: ModelRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = pg_stack.register(tiny_model(tmp_path / "a" / "model", seed=101))
    # Someone edits the lineage consistently in MLflow (version tag and run tag).
    pg_stack._client.set_model_version_tag(pg_stack.model_name, ref.version, "code_version", "v-forged")
    pg_stack._client.set_tag(ref.run_id, "code_version", "v-forged")
    code, _, err = _cli(capsys, "model", "promote", ref.version)
    assert code == 1 and "differs from the recorded lineage" in err
    events = pg_stack.governance.events(pg_stack.model_name)  # type: ignore[union-attr]
    assert [e["action"] for e in events] == ["promote_refused"]


def test_cli_refuses_to_promote_without_its_audit_trail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    (state / "mlflow").mkdir(parents=True)
    shutil.copy(empty_store, state / "mlflow" / "mlflow.db")
    monkeypatch.setenv("VITAE_STATE_DIR", str(state))
    monkeypatch.setenv("VITAE_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")  # nothing listens
    get_settings.cache_clear()
    try:
        registry = registry_from_settings(get_settings())
        ref = registry.register(tiny_model(tmp_path / "a" / "model", seed=101))  # lineage copy: logged, not fatal
        code, _, err = _cli(capsys, "model", "promote", ref.version)
        assert code == 2 and "audit trail" in err and "unreachable" in err
        assert registry.resolve("production") is None and "stage" not in registry.get_version(ref.version).tags
        code, _, err = _cli(capsys, "model", "audit")
        assert code == 2 and "unreachable" in err
    finally:
        get_settings.cache_clear()

"""Model promotion: the quality gate, promotion, rollback and the governance (audit) store.

A version becomes deployable only by passing the **quality gate** here, which then tags it
``stage=prod`` (permanently: every version that ever passed stays deployable, so rollback can
return to it) and moves the serving alias. Refusals, promotions and rollbacks are written to the
append-only ``model_audit`` table in the same PostgreSQL transaction as the registry change
(under an advisory lock per model, so concurrent promotions serialise); a refusal is audited
too. The gate's report is written as an MLflow artifact (``gate/…json``) on the candidate's run.

The gate evaluates candidate and production on one fixed **evaluation set**: the held-out split
that training itself holds out with its default seed (``EVAL_SEED``) and fraction — the
DataTurks documents of the data folder when present, else the generated corpus. Checks:

1. ``lineage``: the candidate's lineage tags still match its run, its artifacts and the
   append-only PostgreSQL copy (tampering behind Vitae's back is refused).
2. ``eval_set_disjoint``: the candidate's training data is rebuilt from its recorded parameters
   (its dataset hash must match) and must not contain any evaluation document.
3. ``beats_production``: candidate micro F1 ≥ production micro F1 + ``min_gain`` (default 0).
4. ``no_regression:<LABEL>``: no label's F1 drops by more than ``label_tolerance`` (0.05).
5. ``min_micro_f1`` (0.50) and ``min_f1:<LABEL>``: per-label minimum F1 (``DEFAULT_MIN_LABEL_F1``)
   for every label the evaluation set has support for.

With no production version (a fresh registry) checks 3–4 are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import threading
import time
from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .audit_event import ModelEvent
from .data import LabeledDoc
from .evaluation import evaluation_report
from .registry import ModelRef, ModelRegistry, NotDeployableError
from .training import TrainConfig, dataset_hash, load_corpus

if TYPE_CHECKING:
    from vitae.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

# The held-out split of a default training run (``train_model``'s default seed and
# ``TrainConfig.test_fraction``) is the evaluation set: a default run never trains on it, and
# the gate proves it for every candidate (``eval_set_disjoint``).
EVAL_SEED = 13

# Per-label minimum F1 on the evaluation set. Chosen ~0.1 under what the default model scores
# on the DataTurks held-out split (31 documents; micro F1 0.640: NAME 0.98, LINK 0.75,
# LOCATION 0.88, DESIGNATION 0.58, COMPANY 0.61, DEGREE 0.71, COLLEGE 0.78,
# GRADUATION_YEAR 0.57, YEARS_OF_EXPERIENCE 0.67 on 6 values, SKILL 0.52), so noise does not
# block a retrain but a broken label does. EMAIL and PHONE come from rules (not annotated in
# DataTurks; checked on generated data). Models trained on generated data score ~0.99.
DEFAULT_MIN_LABEL_F1: Mapping[str, float] = {
    "NAME": 0.90,
    "EMAIL": 0.90,
    "PHONE": 0.90,
    "LINK": 0.60,
    "LOCATION": 0.75,
    "DESIGNATION": 0.45,
    "COMPANY": 0.45,
    "DEGREE": 0.55,
    "COLLEGE": 0.65,
    "GRADUATION_YEAR": 0.45,
    "YEARS_OF_EXPERIENCE": 0.40,
    "SKILL": 0.40,
}
DEFAULT_MIN_MICRO_F1 = 0.50
DEFAULT_LABEL_TOLERANCE = 0.05


class PromotionError(RuntimeError):
    """A promotion or rollback could not proceed (nothing changed)."""


class GovernanceUnavailable(PromotionError):
    """No audit trail: Vitae does not promote, roll back or bootstrap without one."""


class AlreadyServing(PromotionError):
    """The version already has the alias."""


class PromotionRefused(PromotionError):
    """The quality gate (or a rollback precondition) refused; the refusal is audited."""

    def __init__(self, message: str, *, decision: GateDecision | None = None, audit_id: int | None = None) -> None:
        super().__init__(message)
        self.decision = decision
        self.audit_id = audit_id


# --- governance store ---------------------------------------------------------------------------


class GovernanceSession(Protocol):
    """One transaction of the governance store, holding the model's promotion lock."""

    def record(self, event: ModelEvent) -> int: ...

    def record_lineage(self, version: str, lineage: Mapping[str, str]) -> bool: ...


class Governance(Protocol):
    """The audit trail and the append-only lineage copy (PostgreSQL: :class:`PostgresGovernance`)."""

    def session(self, model_name: str) -> contextlib.AbstractContextManager[GovernanceSession]: ...

    def record_lineage(self, model_name: str, version: str, lineage: Mapping[str, str]) -> bool: ...

    def lineage(self, model_name: str, version: str) -> dict[str, str] | None: ...

    def events(self, model_name: str, limit: int = 50) -> list[dict[str, Any]]: ...


class _LoopThread:
    """An event loop on its own thread, so sync code (CLI, provisioning, MLflow calls between
    statements of one transaction) can drive asyncpg, whether or not a loop runs here."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="vitae-governance", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class _PostgresSession:
    def __init__(self, runner: _LoopThread, conn: Any, model_name: str) -> None:
        self._runner = runner
        self._conn = conn
        self._model_name = model_name

    def record(self, event: ModelEvent) -> int:
        """``GovernanceSession.record``: one audit row in this session's transaction."""
        from vitae.stores.model_audit import record_model_event

        return self._runner.run(record_model_event(self._conn, event))

    def record_lineage(self, version: str, lineage: Mapping[str, str]) -> bool:
        from vitae.stores.model_audit import record_model_lineage

        return self._runner.run(
            record_model_lineage(self._conn, model_name=self._model_name, version=version, lineage=dict(lineage))
        )


class PostgresGovernance:
    """The governance store in PostgreSQL (tables of ``vitae/migrations/0004_model_audit.sql``).

    Connections are opened per call: promotions are rare, and the CLI and provisioning are
    synchronous. A session is one transaction holding ``pg_advisory_xact_lock`` for the model.
    """

    def __init__(self, dsn: str, *, timeout: float = 10.0) -> None:
        self._dsn = dsn
        self._timeout = timeout

    async def _connect(self) -> Any:
        import asyncpg

        try:
            return await asyncpg.connect(self._dsn, timeout=self._timeout)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            raise GovernanceUnavailable(
                f"the audit trail (PostgreSQL, VITAE_DATABASE_URL) is unreachable: {type(exc).__name__}: {exc}"
            ) from exc

    @staticmethod
    @contextlib.contextmanager
    def _explained() -> Iterator[None]:
        import asyncpg

        try:
            yield
        except asyncpg.UndefinedTableError as exc:
            raise GovernanceUnavailable(
                f"the governance tables are missing ({exc}); apply the migrations (`vitae up` does)"
            ) from exc

    def _call(self, fn: Any) -> Any:
        runner = _LoopThread()

        async def main() -> Any:
            conn = await self._connect()
            try:
                return await fn(conn)
            finally:
                await conn.close()

        try:
            with self._explained():
                return runner.run(main())
        finally:
            runner.close()

    @contextlib.contextmanager
    def session(self, model_name: str) -> Iterator[GovernanceSession]:
        runner = _LoopThread()
        try:
            with self._explained():
                conn = runner.run(self._connect())
                try:
                    tx = conn.transaction()
                    runner.run(tx.start())
                    try:
                        runner.run(
                            conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"vitae.model:{model_name}")
                        )
                        yield _PostgresSession(runner, conn, model_name)
                    except BaseException:
                        runner.run(tx.rollback())
                        raise
                    else:
                        runner.run(tx.commit())
                finally:
                    runner.run(conn.close())
        finally:
            runner.close()

    def record_lineage(self, model_name: str, version: str, lineage: Mapping[str, str]) -> bool:
        from vitae.stores.model_audit import record_model_lineage

        return bool(
            self._call(
                lambda conn: record_model_lineage(conn, model_name=model_name, version=version, lineage=dict(lineage))
            )
        )

    def lineage(self, model_name: str, version: str) -> dict[str, str] | None:
        from vitae.stores.model_audit import get_model_lineage

        result = self._call(lambda conn: get_model_lineage(conn, model_name=model_name, version=version))
        return dict(result) if result is not None else None

    def events(self, model_name: str, limit: int = 50) -> list[dict[str, Any]]:
        from vitae.stores.model_audit import list_model_events

        return list(self._call(lambda conn: list_model_events(conn, model_name=model_name, limit=limit)))


# --- configuration and the evaluation set ---------------------------------------------------------


@dataclass(frozen=True)
class GateConfig:
    min_gain: float = 0.0
    label_tolerance: float = DEFAULT_LABEL_TOLERANCE
    min_micro_f1: float = DEFAULT_MIN_MICRO_F1
    min_label_f1: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MIN_LABEL_F1))

    @classmethod
    def from_settings(cls, settings: Settings) -> GateConfig:
        minimums = dict(DEFAULT_MIN_LABEL_F1)
        minimums.update({k.upper(): float(v) for k, v in (settings.model_gate_min_label_f1 or {}).items()})
        return cls(
            min_gain=settings.model_gate_min_gain,
            label_tolerance=settings.model_gate_label_tolerance,
            min_micro_f1=settings.model_gate_min_micro_f1,
            min_label_f1=minimums,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "min_gain": self.min_gain,
            "label_tolerance": self.label_tolerance,
            "min_micro_f1": self.min_micro_f1,
            "min_label_f1": dict(sorted(self.min_label_f1.items())),
        }


def _text_key(doc: LabeledDoc) -> str:
    return hashlib.sha256(" ".join(doc.text.split()).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class EvalSet:
    """The fixed evaluation documents: training's held-out split (seed ``seed``)."""

    docs: tuple[LabeledDoc, ...]
    source: str  # "shared-data" | "generated"
    seed: int
    config: TrainConfig
    data_dir: Path | None
    digest: str

    @property
    def text_keys(self) -> frozenset[str]:
        return frozenset(_text_key(d) for d in self.docs)

    def describe(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "documents": len(self.docs),
            "seed": self.seed,
            "test_fraction": self.config.test_fraction,
            "generated_docs": self.config.generated_docs if self.source == "generated" else None,
            "data_dir": str(self.data_dir) if self.data_dir is not None else None,
            "sha256": self.digest,
        }


def evaluation_set(data_dir: Path | None, *, config: TrainConfig | None = None, seed: int = EVAL_SEED) -> EvalSet:
    """The held-out split ``train_model(data_dir=data_dir, seed=seed, config=config)`` never trains on.

    The very split training makes (same loader, same seeded shuffle): DataTurks documents of
    ``data_dir`` when present, else the generated corpus.
    """
    config = config or TrainConfig()
    _train, _extra, test, source, _stats, _skills = load_corpus(data_dir, config, seed)
    return EvalSet(
        docs=tuple(test),
        source=source,
        seed=seed,
        config=config,
        data_dir=data_dir,
        digest=dataset_hash({"eval": test}),
    )


# --- the gate -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateCheck:
    name: str
    passed: bool
    detail: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class GateDecision:
    model_name: str
    candidate_version: str
    production_version: str | None
    alias: str
    checks: list[GateCheck]
    candidate_report: dict[str, Any] | None
    production_report: dict[str, Any] | None
    eval_set: dict[str, Any]
    config: dict[str, Any]
    evaluated_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    seconds: float = 0.0
    # The candidate already has the alias (a dry run on the serving version): absolute checks only.
    candidate_serving: bool = False

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def reasons(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks if not c.passed]

    def micro_f1(self, which: str = "candidate") -> float | None:
        report = self.candidate_report if which == "candidate" else self.production_report
        return float(report["micro"]["f1"]) if report else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "candidate_version": self.candidate_version,
            "production_version": self.production_version,
            "alias": self.alias,
            "passed": self.passed,
            "reasons": self.reasons,
            "checks": [dataclasses.asdict(c) for c in self.checks],
            "candidate_report": self.candidate_report,
            "production_report": self.production_report,
            "eval_set": self.eval_set,
            "config": self.config,
            "evaluated_at": self.evaluated_at,
            "seconds": round(self.seconds, 3),
            "candidate_serving": self.candidate_serving,
        }

    def summary(self) -> dict[str, Any]:
        """What the audit row keeps (the full report is the MLflow artifact)."""
        return {
            "passed": self.passed,
            "reasons": self.reasons,
            "candidate_micro_f1": self.micro_f1("candidate"),
            "production_version": self.production_version,
            "production_micro_f1": self.micro_f1("production"),
            "eval_set": {k: self.eval_set.get(k) for k in ("source", "documents", "sha256")},
            "config": self.config,
        }


def _f1(report: dict[str, Any], label: str) -> tuple[float, int] | None:
    row = report["labels"].get(label)
    if row is None:
        return None
    return float(row["f1"]), int(row["support"])


def _compare_checks(cand: dict[str, Any], prod: dict[str, Any], config: GateConfig) -> list[GateCheck]:
    checks: list[GateCheck] = []
    c_micro, p_micro = float(cand["micro"]["f1"]), float(prod["micro"]["f1"])
    need = round(p_micro + config.min_gain, 4)
    checks.append(
        GateCheck(
            "beats_production",
            c_micro >= need,
            f"micro F1 {c_micro:.4f} vs production {p_micro:.4f} (needs ≥ {need:.4f}, margin {config.min_gain:+.4f})",
            {"candidate": c_micro, "production": p_micro, "required": need},
        )
    )
    for label, row in prod["labels"].items():
        if int(row["support"]) == 0:
            continue
        p_f1 = float(row["f1"])
        got = _f1(cand, label)
        c_f1 = got[0] if got else 0.0
        floor = round(p_f1 - config.label_tolerance, 4)
        checks.append(
            GateCheck(
                f"no_regression:{label}",
                c_f1 >= floor,
                f"{label} F1 {c_f1:.4f} vs production {p_f1:.4f} (may drop at most {config.label_tolerance:.4f})",
                {"candidate": c_f1, "production": p_f1, "required": floor},
            )
        )
    return checks


def _minimum_checks(cand: dict[str, Any], config: GateConfig) -> list[GateCheck]:
    c_micro = float(cand["micro"]["f1"])
    checks = [
        GateCheck(
            "min_micro_f1",
            c_micro >= config.min_micro_f1,
            f"micro F1 {c_micro:.4f} (minimum {config.min_micro_f1:.4f})",
            {"candidate": c_micro, "required": config.min_micro_f1},
        )
    ]
    for label, minimum in sorted(config.min_label_f1.items()):
        got = _f1(cand, label)
        if got is None or got[1] == 0:
            continue  # the evaluation set has no such values: nothing to measure
        checks.append(
            GateCheck(
                f"min_f1:{label}",
                got[0] >= minimum,
                f"{label} F1 {got[0]:.4f} (minimum {minimum:.4f}, support {got[1]})",
                {"candidate": got[0], "required": minimum, "support": got[1]},
            )
        )
    return checks


def _training_params(local: Path) -> dict[str, Any]:
    try:
        report = json.loads((local / "eval_report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    params = report.get("params") if isinstance(report, dict) else None
    return params if isinstance(params, dict) else {}


def _disjoint_check(ref: ModelRef, local: Path, eval_set: EvalSet) -> GateCheck:
    """Rebuild the candidate's training data from its recorded parameters; no evaluation document may be in it."""
    name = "eval_set_disjoint"
    params = _training_params(local)
    source = params.get("data_source") or ref.tags.get("data_source")
    if not params or "seed" not in params:
        return GateCheck(name, False, "no training parameters recorded: cannot prove the evaluation set was held out")
    if source != eval_set.source:
        # DataTurks (and resume-corpus) documents are never generated ones, and vice versa.
        return GateCheck(name, True, f"trained on {source} data, evaluated on {eval_set.source} data")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in params.items() if k in known})
    seed = int(params["seed"])
    train, extra, test, rebuilt_source, _stats, _skills = load_corpus(eval_set.data_dir, config, seed)
    if config.max_train_docs is not None:
        train, extra = train[: config.max_train_docs], extra[: config.max_train_docs]
    rebuilt = dataset_hash({"train": train, "extra": extra, "test": test})
    if rebuilt_source != source or rebuilt != ref.tags.get("dataset_hash"):
        return GateCheck(
            name,
            False,
            "the candidate's training data cannot be rebuilt from this data folder (dataset hash differs): "
            "cannot prove it excludes the evaluation set",
            {"rebuilt_dataset_hash": rebuilt},
        )
    seen = {_text_key(d) for d in train + extra}
    overlap = sorted(eval_set.text_keys & seen)
    values = {"overlap": len(overlap), "seed": seed, "test_fraction": config.test_fraction}
    if overlap:
        return GateCheck(
            name,
            False,
            f"{len(overlap)} of {len(eval_set.docs)} evaluation documents were in the candidate's training data "
            f"(trained with seed {seed}, test_fraction {config.test_fraction}; the evaluation set is the held-out "
            f"split of seed {eval_set.seed}, test_fraction {eval_set.config.test_fraction})",
            values,
        )
    return GateCheck(name, True, f"none of the {len(eval_set.docs)} evaluation documents was trained on", values)


def run_gate(
    registry: ModelRegistry,
    version: str,
    *,
    alias: str,
    config: GateConfig | None = None,
    eval_set: EvalSet | None = None,
    governance: Governance | None = None,
) -> GateDecision:
    """Evaluate ``version`` against the version behind ``alias``. Read-only (writes nothing)."""
    t0 = time.perf_counter()
    config = config or registry.gate or GateConfig()
    eval_set = eval_set or evaluation_set(registry.data_dir)
    candidate = registry.get_version(str(version))
    production = registry.resolve(alias)
    serving = production is not None and production.version == candidate.version
    if serving:
        production = None  # re-evaluating the serving version: only the absolute checks apply
    decision = GateDecision(
        model_name=registry.model_name,
        candidate_version=candidate.version,
        production_version=production.version if production else None,
        alias=alias,
        checks=[],
        candidate_report=None,
        production_report=None,
        eval_set=eval_set.describe(),
        config=config.as_dict(),
        candidate_serving=serving,
    )
    problems = registry.verify_lineage(candidate.version, governance=governance)
    decision.checks.append(
        GateCheck(
            "lineage",
            not problems,
            "; ".join(problems) if problems else "tags match the run, the artifacts and the recorded lineage",
            {"problems": problems},
        )
    )
    if problems:
        decision.seconds = time.perf_counter() - t0
        return decision  # artifacts or records were tampered with: nothing else is trustworthy

    local = registry.local_artifacts(candidate)
    decision.checks.append(_disjoint_check(candidate, local, eval_set))
    decision.candidate_report = evaluation_report(registry.load(candidate), eval_set.docs)
    decision.checks += _minimum_checks(decision.candidate_report, config)
    if production is not None:
        try:
            decision.production_report = evaluation_report(registry.load(production), eval_set.docs)
        except Exception as exc:
            decision.checks.append(
                GateCheck(
                    "beats_production",
                    False,
                    f"production v{production.version} could not be evaluated ({type(exc).__name__}: {exc}); "
                    "roll back to a healthy version first",
                )
            )
        else:
            decision.checks += _compare_checks(decision.candidate_report, decision.production_report, config)
    decision.seconds = time.perf_counter() - t0
    return decision


# --- promotion and rollback -------------------------------------------------------------------------


@dataclass(frozen=True)
class PromotionOutcome:
    decision: GateDecision
    version: str
    previous: str | None
    alias: str
    audit_id: int
    gate_artifact: str | None


@dataclass(frozen=True)
class RollbackOutcome:
    version: str
    previous: str | None
    alias: str
    audit_id: int


def _governance(registry: ModelRegistry, governance: Governance | None) -> Governance:
    gov = governance or registry.governance
    if gov is None:
        raise GovernanceUnavailable(
            "no governance store (audit trail) configured: promotions and rollbacks are always audited"
        )
    return gov


def _known_version(registry: ModelRegistry, version: str) -> ModelRef:
    try:
        return registry.get_version(version)
    except Exception as exc:
        if registry._is_missing(exc):
            raise PromotionError(f"{registry.model_name} has no version {version!r}") from exc
        raise


def _record_gate(registry: ModelRegistry, ref: ModelRef, decision: GateDecision) -> str | None:
    """The gate's report as an artifact of the candidate's run, and its outcome as tags."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    artifact = None
    if ref.run_id:
        artifact = registry.log_run_artifact(
            ref.run_id, f"{stamp}-{decision.alias}.json", decision.as_dict(), artifact_path="gate"
        )
    tags = {
        "gate_result": "passed" if decision.passed else "refused",
        "gate_at": decision.evaluated_at,
        "gate_vs": decision.production_version or "none",
        "gate_micro_f1": f"{decision.micro_f1():.4f}" if decision.candidate_report else "-",
        "gate_report": artifact or "-",
    }
    for key, value in tags.items():
        registry.set_tag(ref.version, key, value)
    return artifact


def promote(
    registry: ModelRegistry,
    version: str,
    *,
    alias: str,
    actor: str,
    reason: str | None = None,
    governance: Governance | None = None,
    config: GateConfig | None = None,
    eval_set: EvalSet | None = None,
    action: str = "promote",
) -> PromotionOutcome:
    """Run the gate; on pass tag ``stage=prod`` and move ``alias``; on refusal raise :class:`PromotionRefused`.

    Either way the outcome is audited (``action`` or ``<action>_refused``) in the transaction
    that holds the model's promotion lock. ``action="bootstrap"`` is the empty-registry case.
    """
    gov = _governance(registry, governance)
    version = str(version)
    if not actor or not actor.strip():
        raise PromotionError("an actor is required")
    refused: PromotionRefused | None = None
    with gov.session(registry.model_name) as audit:
        candidate = _known_version(registry, version)
        previous = registry.resolve(alias)
        if previous is not None and previous.version == candidate.version:
            raise AlreadyServing(f"{registry.model_name} v{version} already has alias @{alias}")
        decision = run_gate(registry, version, alias=alias, config=config, eval_set=eval_set, governance=gov)
        artifact = _record_gate(registry, candidate, decision)
        details = {**decision.summary(), "gate_report": artifact}
        if decision.passed:
            # Versions registered without the store (or while it was down) get their lineage
            # recorded now, after it was checked against the run and the artifacts.
            details["lineage_recorded_at_promotion"] = audit.record_lineage(version, candidate.lineage())
        audit_id = audit.record(
            ModelEvent(
                model_name=registry.model_name,
                action=action if decision.passed else f"{action}_refused",
                actor=actor,
                version=version,
                reason=reason,
                details=details,
                from_version=previous.version if previous else None,
                target=alias,
            )
        )
        if decision.passed:
            registry.mark_prod(version, decision)
            registry.set_tag(version, f"promoted_{alias}_at", f"{time.time():.6f}")
            registry.move_alias(alias, version)
        else:
            refused = PromotionRefused(
                f"{registry.model_name} v{version} refused by the quality gate: " + "; ".join(decision.reasons),
                decision=decision,
                audit_id=audit_id,
            )
    if refused is not None:
        log.info("%s", refused)  # the caller reports it; the audit trail keeps it
        raise refused
    log.info(
        "promoted %s v%s -> @%s (was %s) by %s",
        registry.model_name,
        version,
        alias,
        previous.version if previous else "none",
        actor,
    )
    return PromotionOutcome(decision, version, previous.version if previous else None, alias, audit_id, artifact)


def _promoted_at(ref: ModelRef, alias: str) -> float:
    try:
        return float(ref.tags.get(f"promoted_{alias}_at", "0"))
    except ValueError:
        return 0.0


def rollback_target(registry: ModelRegistry, alias: str, current: ModelRef | None) -> ModelRef | None:
    """The ``stage=prod`` version promoted to ``alias`` most recently before ``current`` was."""
    prods = [r for r in registry.prod_versions() if current is None or r.version != current.version]
    if current is not None:
        limit = (_promoted_at(current, alias), int(current.version))
        prods = [r for r in prods if (_promoted_at(r, alias), int(r.version)) < limit]
    if not prods:
        return None
    return max(prods, key=lambda r: (_promoted_at(r, alias), int(r.version)))


def rollback(
    registry: ModelRegistry,
    *,
    alias: str,
    actor: str,
    reason: str,
    to_version: str | None = None,
    governance: Governance | None = None,
) -> RollbackOutcome:
    """Move ``alias`` back to the previous (or the given) ``stage=prod`` version. Audited; refusals too."""
    gov = _governance(registry, governance)
    if not reason or not reason.strip():
        raise PromotionError("a rollback needs a reason")
    if not actor or not actor.strip():
        raise PromotionError("an actor is required")
    refused: PromotionRefused | None = None
    with gov.session(registry.model_name) as audit:
        current = registry.resolve(alias)
        target: ModelRef | None
        if to_version is not None:
            target = _known_version(registry, str(to_version))
        else:
            target = rollback_target(registry, alias, current)
        problem: str | None = None
        if target is None:
            problem = f"no earlier stage=prod version to roll @{alias} back to"
        elif not target.deployable:
            problem = f"v{target.version} is not stage=prod (it never passed the quality gate); only those can serve"
        elif current is not None and target.version == current.version:
            problem = f"v{target.version} already has alias @{alias}"
        else:
            lineage = registry.verify_lineage(target.version, governance=gov)
            if lineage:
                problem = f"lineage of v{target.version} no longer matches its records: " + "; ".join(lineage)
        details: dict[str, Any] = {"requested": to_version}
        if problem is not None:
            details["refused"] = problem
            audit_id = audit.record(
                ModelEvent(
                    model_name=registry.model_name,
                    action="rollback_refused",
                    actor=actor,
                    version=target.version if target else to_version,
                    reason=reason,
                    details=details,
                    from_version=current.version if current else None,
                    target=alias,
                )
            )
            refused = PromotionRefused(f"rollback refused: {problem}", audit_id=audit_id)
        else:
            assert target is not None
            audit_id = audit.record(
                ModelEvent(
                    model_name=registry.model_name,
                    action="rollback",
                    actor=actor,
                    version=target.version,
                    reason=reason,
                    details=details,
                    from_version=current.version if current else None,
                    target=alias,
                )
            )
            registry.move_alias(alias, target.version)
    if refused is not None:
        log.info("%s", refused)
        raise refused
    assert target is not None
    log.info("rolled %s @%s back to v%s by %s", registry.model_name, alias, target.version, actor)
    return RollbackOutcome(target.version, current.version if current else None, alias, audit_id)


def format_decision(decision: GateDecision) -> str:
    """Human-readable gate decision: verdict, failed checks, per-label table."""
    if decision.production_version:
        versus = f"v{decision.production_version}"
    elif decision.candidate_serving:
        versus = f"itself (already @{decision.alias}; absolute checks only)"
    else:
        versus = "no production"
    lines = [
        f"quality gate for {decision.model_name} v{decision.candidate_version} vs {versus} "
        f"on {decision.eval_set['documents']} {decision.eval_set['source']} held-out documents: "
        + ("PASSED" if decision.passed else "REFUSED")
    ]
    lines += [f"  ✗ {reason}" for reason in decision.reasons]
    cand, prod = decision.candidate_report, decision.production_report
    if cand:
        minimums = decision.config.get("min_label_f1", {})
        header = f"  {'label':<20} {'support':>7} {'F1':>6} {'min':>6}"
        if prod:
            header += f" {'prodF1':>7} {'delta':>7}"
        lines.append(header)
        for label, row in [*cand["labels"].items(), ("micro", cand["micro"])]:
            minimum = decision.config.get("min_micro_f1") if label == "micro" else minimums.get(label)
            shown = f"{minimum:.2f}" if minimum is not None else "-"
            line = f"  {label:<20} {row['support']:>7} {row['f1']:>6.3f} {shown:>6}"
            if prod:
                other = prod["micro"] if label == "micro" else prod["labels"].get(label)
                line += f" {other['f1']:>7.3f} {row['f1'] - other['f1']:>+7.3f}" if other else f" {'-':>7} {'-':>7}"
            lines.append(line)
    return "\n".join(lines)


__all__ = [
    "DEFAULT_MIN_LABEL_F1",
    "EVAL_SEED",
    "AlreadyServing",
    "EvalSet",
    "GateCheck",
    "GateConfig",
    "GateDecision",
    "Governance",
    "GovernanceSession",
    "GovernanceUnavailable",
    "NotDeployableError",
    "PostgresGovernance",
    "PromotionError",
    "PromotionOutcome",
    "PromotionRefused",
    "RollbackOutcome",
    "evaluation_set",
    "format_decision",
    "promote",
    "rollback",
    "rollback_target",
    "run_gate",
]

"""MLflow-backed model registry: register with lineage, guard it, serve by alias.

MLflow is imported lazily (it is slow to import) so the inference path stays light. MLflow is
the source of truth: a predictor is only ever loaded from a registered version's artifacts,
downloaded once into ``cache_dir/<version>`` and checked against the version's recorded sha256.

Governance (see :mod:`model_runtime.promotion`):

- Lineage tags (:data:`LINEAGE_TAGS`) are written once, when the version is created, and are
  immutable through Vitae: every tag write goes through :meth:`ModelRegistry.set_tag`, which
  refuses to set or delete a lineage tag a version already has. :meth:`ModelRegistry.verify_lineage`
  detects edits made behind Vitae's back (MLflow UI, API): tags are checked against the run,
  the artifacts (sha256 of every file) and, when a governance store is attached, the append-only
  ``model_lineage`` copy in PostgreSQL.
- ``stage=prod`` is set only with a passed quality-gate decision and never removed; only
  ``stage=prod`` versions may carry a serving alias, and workers refuse to load anything else.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .model_io import MODEL_FILE, sha256_file
from .predictor import ResumePredictor
from .training import TrainResult, train_model

if TYPE_CHECKING:
    from vitae.settings import Settings

    from .promotion import EvalSet, GateConfig, GateDecision, Governance

log = logging.getLogger(__name__)

_OFFLINE_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "GIT_PYTHON_REFRESH": "quiet",
}
LINEAGE_TAGS = (
    "dataset_hash",
    "config_hash",
    "code_version",
    "mlflow_run_id",
    "data_source",
    "model_sha256",
    "micro_f1",
    "artifacts_sha256",
)
# Lineage also recorded on the MLflow run at creation (a second copy to compare against).
RUN_LINEAGE_TAGS = ("dataset_hash", "config_hash", "code_version", "data_source", "model_sha256", "artifacts_sha256")
STAGE_TAG = "stage"
PROD_STAGE = "prod"
# Files the registry adds to a downloaded model folder (not part of the registered artifacts).
_LOCAL_MARKERS = frozenset({".complete"})


class LineageError(RuntimeError):
    """A lineage tag write was refused, or recorded lineage no longer matches the version."""


class NotDeployableError(RuntimeError):
    """A version without ``stage=prod`` was about to serve."""


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str
    run_id: str
    tags: dict[str, str]

    @property
    def deployable(self) -> bool:
        return self.tags.get(STAGE_TAG) == PROD_STAGE

    def lineage(self) -> dict[str, str]:
        return {key: self.tags[key] for key in LINEAGE_TAGS if key in self.tags}


def artifacts_digest(folder: Path) -> str:
    """sha256 over every file of a model folder (relative path + content hash), in path order."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel in _LOCAL_MARKERS:
            continue
        digest.update(rel.encode())
        digest.update(b"\0")
        digest.update(bytes.fromhex(sha256_file(path)))
    return digest.hexdigest()


def _same_f1(tag: str | None, value: float) -> bool:
    try:
        return tag is not None and abs(float(tag) - float(value)) < 5e-5
    except ValueError:
        return False


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def code_version() -> str:
    """Git commit of the source tree when available (``-dirty`` when modified), else the package version."""
    repo = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        if sha:
            return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    from importlib.metadata import PackageNotFoundError, version

    try:
        return "vitae-" + version("vitae")
    except PackageNotFoundError:  # pragma: no cover - not installed
        return "unknown"


class ModelRegistry:
    def __init__(
        self,
        tracking_uri: str,
        artifact_root: str,
        model_name: str,
        cache_dir: Path,
        *,
        governance: Governance | None = None,
        gate: GateConfig | None = None,
        data_dir: Path | None = None,
    ) -> None:
        for key, value in _OFFLINE_ENV.items():
            os.environ.setdefault(key, value)
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root.rstrip("/")
        self.model_name = model_name
        self.cache_dir = Path(cache_dir)
        # Audit trail + lineage copy (PostgreSQL in every Vitae process; see registry_from_settings).
        self.governance = governance
        # Quality-gate thresholds and the data folder its evaluation set comes from.
        self.gate = gate
        self.data_dir = data_dir
        self._client_obj: Any = None
        self._lock = threading.Lock()
        if tracking_uri.startswith("sqlite:///"):
            Path(tracking_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        if artifact_root.startswith("file://"):
            from urllib.parse import urlparse
            from urllib.request import url2pathname

            Path(url2pathname(urlparse(artifact_root).path)).mkdir(parents=True, exist_ok=True)

    # -- plumbing -----------------------------------------------------------------------------------
    @property
    def _client(self) -> Any:
        with self._lock:
            if self._client_obj is None:
                from mlflow import MlflowClient

                self._client_obj = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)
            return self._client_obj

    def _experiment_id(self) -> str:
        client = self._client
        experiment = client.get_experiment_by_name(self.model_name)
        if experiment is not None:
            return str(experiment.experiment_id)
        try:
            return str(
                client.create_experiment(
                    self.model_name,
                    artifact_location=f"{self.artifact_root}/{self.model_name}",
                )
            )
        except Exception:  # created concurrently
            experiment = client.get_experiment_by_name(self.model_name)
            if experiment is None:
                raise
            return str(experiment.experiment_id)

    @staticmethod
    def _is_missing(exc: Exception) -> bool:
        code = getattr(exc, "error_code", "")
        return code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE") or "not found" in str(exc).lower()

    def _ref(self, mv: Any) -> ModelRef:
        return ModelRef(
            name=mv.name,
            version=str(mv.version),
            run_id=mv.run_id or "",
            tags=dict(mv.tags or {}),
        )

    # -- API ----------------------------------------------------------------------------------------
    def register(self, result: TrainResult) -> ModelRef:
        client = self._client
        exp_id = self._experiment_id()
        sha = result.params.get("model_sha256") or sha256_file(result.model_dir / MODEL_FILE)
        lineage = {
            "dataset_hash": result.dataset_hash,
            "config_hash": result.config_hash,
            "code_version": code_version(),
            "data_source": result.data_source,
            "model_sha256": sha,
            "artifacts_sha256": artifacts_digest(result.model_dir),
        }
        run = client.create_run(exp_id, run_name=f"train-{time.strftime('%Y%m%dT%H%M%S')}", tags=lineage)
        run_id = run.info.run_id
        try:
            for key, value in sorted(result.params.items()):
                client.log_param(run_id, key, str(value)[:500])
            for key, value in sorted(result.metrics.items()):
                client.log_metric(run_id, key, float(value))
            client.log_artifacts(run_id, str(result.model_dir), artifact_path="model")
            if result.report:
                with tempfile.TemporaryDirectory() as tmp:
                    report = Path(tmp) / "eval_report.json"
                    report.write_text(
                        json.dumps(result.report, indent=1, sort_keys=True),
                        encoding="utf-8",
                    )
                    client.log_artifact(run_id, str(report))
        except Exception:
            client.set_terminated(run_id, status="FAILED")
            raise
        client.set_terminated(run_id, status="FINISHED")
        try:
            client.create_registered_model(self.model_name, description="Vitae resume entity extraction (ONNX)")
        except Exception as exc:
            if "already exists" not in str(exc).lower() and getattr(exc, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
                raise
        # Lineage is written here, when the version is created, and never again (see set_tag).
        tags = {
            **lineage,
            "mlflow_run_id": run_id,
            "micro_f1": f"{result.metrics.get('f1_micro', 0.0):.4f}",
        }
        mv = client.create_model_version(
            self.model_name,
            source=f"{run.info.artifact_uri}/model",
            run_id=run_id,
            tags=tags,
        )
        log.info("registered %s version %s (run %s)", self.model_name, mv.version, run_id)
        ref = self._ref(client.get_model_version(self.model_name, str(mv.version)))
        if self.governance is not None:
            try:
                self.governance.record_lineage(self.model_name, ref.version, ref.lineage())
            except Exception as exc:
                # The version is registered but not deployable until promotion, which records
                # the lineage (after checking it against the artifacts) if it is still missing.
                log.error(
                    "could not record the lineage of %s v%s in the governance store: %s",
                    self.model_name,
                    ref.version,
                    exc,
                )
        return ref

    def set_tag(
        self,
        version: str,
        key: str,
        value: str | None,
        *,
        decision: GateDecision | None = None,
    ) -> None:
        """The one way Vitae writes (``value``) or deletes (``None``) a version's tag.

        Refuses any lineage tag the version already has, any change of ``stage`` once it is
        ``prod``, and ``stage=prod`` itself without a passed gate decision for this version.
        """
        version = str(version)
        current = dict(self._client.get_model_version(self.model_name, version).tags or {})
        if key in LINEAGE_TAGS:
            if key in current:
                raise LineageError(
                    f"lineage tag {key!r} of {self.model_name} v{version} is immutable "
                    f"(recorded {current[key]!r}); register a new version instead"
                )
            raise LineageError(f"lineage tag {key!r} is only written when a version is registered")
        if key == STAGE_TAG:
            if current.get(STAGE_TAG) == PROD_STAGE:
                if value == PROD_STAGE:
                    return
                raise LineageError(f"{self.model_name} v{version} passed the gate: stage=prod is permanent")
            if value != PROD_STAGE:
                raise ValueError(f"stage can only be set to {PROD_STAGE!r}")
            if (
                decision is None
                or not decision.passed
                or decision.model_name != self.model_name
                or decision.candidate_version != version
            ):
                raise PermissionError(
                    f"stage=prod needs a passed quality-gate decision for {self.model_name} v{version}"
                )
        if value is None:
            if key in current:
                self._client.delete_model_version_tag(self.model_name, version, key)
        else:
            self._client.set_model_version_tag(self.model_name, version, key, str(value))

    def delete_tag(self, version: str, key: str) -> None:
        self.set_tag(version, key, None)

    def mark_prod(self, version: str, decision: GateDecision) -> None:
        """Tag ``stage=prod`` (permanent): the version passed the gate and may serve from now on."""
        self.set_tag(version, STAGE_TAG, PROD_STAGE, decision=decision)

    def move_alias(self, alias: str, version: str) -> None:
        """Point ``alias`` at ``version``; only ``stage=prod`` versions may serve."""
        ref = self.get_version(str(version))
        if not ref.deployable:
            raise NotDeployableError(
                f"{self.model_name} v{ref.version} is not stage=prod; only promoted versions can serve"
            )
        self._client.set_registered_model_alias(self.model_name, alias, ref.version)

    def _search_versions(self) -> list[Any]:
        """Every MLflow version of the model; none when the model is not registered yet."""
        try:
            return list(self._client.search_model_versions(f"name='{self.model_name}'"))
        except Exception as exc:
            if self._is_missing(exc):
                return []
            raise

    def prod_versions(self) -> list[ModelRef]:
        """Every version that ever passed the gate (deployable, rollback targets), oldest first."""
        versions = self._search_versions()
        refs = [self._ref(mv) for mv in versions]
        return sorted((r for r in refs if r.deployable), key=lambda r: int(r.version))

    def log_run_artifact(self, run_id: str, name: str, payload: dict[str, Any], artifact_path: str) -> str:
        """Write ``payload`` as ``artifact_path/name`` (JSON) on a run; returns the artifact path."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_text(json.dumps(payload, indent=1, sort_keys=True, default=str), encoding="utf-8")
            self._client.log_artifact(run_id, str(path), artifact_path=artifact_path)
        return f"{artifact_path}/{name}"

    def verify_lineage(self, version: str, *, governance: Governance | None = None) -> list[str]:
        """Problems found comparing a version's lineage tags with every other record of it.

        Empty when intact. Checks: every lineage tag present; ``mlflow_run_id`` is the version's
        run; the run's own lineage tags and ``f1_micro`` metric agree; the artifacts hash to
        ``model_sha256``/``artifacts_sha256`` and their ``metadata.json``/``eval_report.json``
        agree; and the append-only PostgreSQL copy (when a governance store is attached) agrees.
        """
        version = str(version)
        client = self._client
        mv = client.get_model_version(self.model_name, version)
        tags = dict(mv.tags or {})
        problems: list[str] = []
        # artifacts_sha256 is younger than the rest: versions registered before it have none
        # (then the run has none either, and the per-file hash of model.onnx still binds them).
        missing = [key for key in LINEAGE_TAGS if key != "artifacts_sha256" and not tags.get(key)]
        if missing:
            problems.append(f"lineage tags missing: {', '.join(missing)}")
        if tags.get("mlflow_run_id") and tags["mlflow_run_id"] != mv.run_id:
            problems.append(f"mlflow_run_id tag {tags['mlflow_run_id']!r} is not the version's run {mv.run_id!r}")
        if mv.run_id:
            run = client.get_run(mv.run_id)
            for key in RUN_LINEAGE_TAGS:
                recorded = run.data.tags.get(key)
                if recorded is not None and tags.get(key) != recorded:
                    problems.append(f"{key} tag {tags.get(key)!r} differs from the run's {recorded!r}")
            run_f1 = run.data.metrics.get("f1_micro")
            if run_f1 is not None and not _same_f1(tags.get("micro_f1"), run_f1):
                problems.append(f"micro_f1 tag {tags.get('micro_f1')!r} differs from the run's f1_micro {run_f1:.4f}")
        # A fresh copy from the artifact store (not this host's cache): what any host would load.
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        local = Path(tempfile.mkdtemp(prefix=f".verify-{version}-", dir=self.cache_dir)) / "model"
        try:
            try:
                self._download(mv.source, local)
            except Exception as exc:
                problems.append(f"artifacts could not be downloaded ({type(exc).__name__}: {exc})")
            else:
                model = local / MODEL_FILE
                if not model.is_file() or sha256_file(model) != tags.get("model_sha256"):
                    problems.append("artifacts do not match the recorded model_sha256")
                if tags.get("artifacts_sha256") and artifacts_digest(local) != tags["artifacts_sha256"]:
                    problems.append("artifacts do not match the recorded artifacts_sha256")
                meta = _read_json(local / "metadata.json")
                for key in ("dataset_hash", "config_hash", "data_source"):
                    if key in meta and tags.get(key) != meta[key]:
                        problems.append(f"{key} tag {tags.get(key)!r} differs from the model's metadata {meta[key]!r}")
                report_f1 = _read_json(local / "eval_report.json").get("metrics", {}).get("f1_micro")
                if report_f1 is not None and not _same_f1(tags.get("micro_f1"), report_f1):
                    problems.append(f"micro_f1 tag {tags.get('micro_f1')!r} differs from the training report")
        finally:
            shutil.rmtree(local.parent, ignore_errors=True)
        governance = governance or self.governance
        if governance is not None:
            recorded_lineage = governance.lineage(self.model_name, version)
            if recorded_lineage is not None:
                for key, value in sorted(recorded_lineage.items()):
                    if tags.get(key) != value:
                        problems.append(f"{key} tag {tags.get(key)!r} differs from the recorded lineage {value!r}")
        return problems

    def resolve(self, alias: str) -> ModelRef | None:
        try:
            mv = self._client.get_model_version_by_alias(self.model_name, alias)
        except Exception as exc:
            if self._is_missing(exc):
                return None
            raise
        return self._ref(mv)

    def get_version(self, version: str) -> ModelRef:
        return self._ref(self._client.get_model_version(self.model_name, str(version)))

    def load(self, ref: ModelRef) -> ResumePredictor:
        """Predictor for a registered version (artifacts fetched from MLflow once, then cached)."""
        mv = self._client.get_model_version(self.model_name, str(ref.version))
        expected = (mv.tags or {}).get("model_sha256")
        if not expected:
            raise LineageError(f"{self.model_name} v{mv.version} has no model_sha256: refusing unverifiable artifacts")
        target = self._local_dir(mv)
        return ResumePredictor.load(target, name=self.model_name, version=str(mv.version))

    def local_artifacts(self, ref: ModelRef) -> Path:
        """The version's artifacts folder (downloaded once, checked against its recorded hashes)."""
        return self._local_dir(self._client.get_model_version(self.model_name, str(ref.version)))

    def _local_dir(self, mv: Any) -> Path:
        tags = mv.tags or {}
        expected, expected_all = tags.get("model_sha256"), tags.get("artifacts_sha256")
        target = self.cache_dir / str(mv.version)
        if not expected:
            raise LineageError(f"{self.model_name} v{mv.version} has no model_sha256")
        if not self._cache_valid(target, expected, expected_all):
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            with self._file_lock(self.cache_dir / ".download.lock"):
                if not self._cache_valid(target, expected, expected_all):
                    self._download(mv.source, target)
            if not self._cache_valid(target, expected, expected_all):
                raise ValueError(f"artifacts of {self.model_name} v{mv.version} failed the integrity check")
        return target

    def list_versions(self) -> list[dict[str, Any]]:
        versions = self._search_versions()
        aliases: dict[str, list[str]] = {}
        try:
            registered = self._client.get_registered_model(self.model_name)
            for alias, version in (getattr(registered, "aliases", None) or {}).items():
                aliases.setdefault(str(version), []).append(alias)
        except Exception as exc:
            if not self._is_missing(exc):
                raise
        out = []
        for mv in sorted(versions, key=lambda v: int(v.version)):
            tags = dict(mv.tags or {})
            out.append(
                {
                    "version": str(mv.version),
                    "aliases": sorted(aliases.get(str(mv.version), [])),
                    "run_id": mv.run_id,
                    "status": mv.status,
                    "created": mv.creation_timestamp,
                    "source": mv.source,
                    "tags": tags,
                    "stage": tags.get(STAGE_TAG),
                    "lineage": {key: tags[key] for key in LINEAGE_TAGS if key in tags},
                    "gate": {
                        key.removeprefix("gate_"): value
                        for key, value in sorted(tags.items())
                        if key.startswith("gate_")
                    },
                }
            )
        return out

    # -- helpers ------------------------------------------------------------------------------------
    @staticmethod
    def _cache_valid(target: Path, expected_sha: str | None, expected_artifacts: str | None = None) -> bool:
        model = target / MODEL_FILE
        if not model.is_file() or not (target / ".complete").is_file():
            return False
        if expected_sha is not None and sha256_file(model) != expected_sha:
            return False
        # Every file (metadata.json drives decoding too), for versions registered with the digest.
        return expected_artifacts is None or artifacts_digest(target) == expected_artifacts

    def _download(self, source: str, target: Path) -> None:
        import mlflow.artifacts

        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=self.cache_dir))
        try:
            local = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=source,
                    dst_path=str(tmp),
                    tracking_uri=self.tracking_uri,
                )
            )
            (local / ".complete").write_text("ok", encoding="utf-8")
            if target.exists():
                shutil.rmtree(target)
            os.replace(local, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    @contextlib.contextmanager
    def _file_lock(path: Path) -> Iterator[None]:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_production_model(
    registry: ModelRegistry,
    alias: str,
    *,
    data_dir: Path | None,
    work_dir: Path,
    governance: Governance | None = None,
    gate: GateConfig | None = None,
    eval_set: EvalSet | None = None,
    actor: str | None = None,
) -> ModelRef:
    """The version behind ``alias``; when there is none (a fresh stack), train, register and promote one.

    The bootstrap goes through the quality gate like any promotion; with no production version
    only the absolute checks apply (lineage, held-out evaluation set, minimum F1s). A model that
    fails them is never served: the refusal is audited (``bootstrap_refused``), logged as an
    error, and :class:`~model_runtime.promotion.PromotionRefused` propagates, so ``vitae up``
    fails loudly instead of running without a model. A file lock in ``work_dir`` keeps
    concurrent starters from training twice.
    """
    ref = registry.resolve(alias)
    if ref is not None:
        return ref
    from vitae.stores.model_audit import default_actor

    from .promotion import PromotionRefused, evaluation_set, promote

    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    with ModelRegistry._file_lock(work_dir / ".train.lock"):
        ref = registry.resolve(alias)
        if ref is not None:
            return ref
        out = Path(tempfile.mkdtemp(prefix="train-", dir=work_dir))
        try:
            result = train_model(out / "model", data_dir=data_dir)
            ref = registry.register(result)
            try:
                promote(
                    registry,
                    ref.version,
                    alias=alias,
                    actor=actor or default_actor(),
                    reason="bootstrap: empty registry",
                    governance=governance,
                    config=gate,
                    eval_set=eval_set or evaluation_set(data_dir),
                    action="bootstrap",
                )
            except PromotionRefused as exc:
                log.error(
                    "BOOTSTRAP REFUSED: %s v%s failed the quality gate and will not serve; no version has "
                    "alias @%s. Fix the training data or the gate's minimums (VITAE_MODEL_GATE_*), "
                    "then start again. Reasons: %s",
                    registry.model_name,
                    ref.version,
                    alias,
                    "; ".join(exc.decision.reasons if exc.decision else [str(exc)]),
                )
                raise
        finally:
            shutil.rmtree(out, ignore_errors=True)
    resolved = registry.resolve(alias)
    if resolved is None:  # pragma: no cover - registry inconsistency
        raise RuntimeError(f"alias {alias!r} did not resolve after promotion")
    return resolved


class ProductionModel:
    """The serving model of one worker process; follows the alias without a redeploy.

    ``get()`` returns the cached predictor. At most every ``refresh_seconds`` one caller
    re-resolves the alias (other callers keep using the current predictor meanwhile); when it
    moved, the new version is loaded and swapped in. A failed refresh keeps the old predictor.
    """

    def __init__(self, registry: ModelRegistry, alias: str, refresh_seconds: float) -> None:
        self.registry = registry
        self.alias = alias
        self.refresh_seconds = refresh_seconds
        self._predictor: ResumePredictor | None = None
        self._checked_at = float("-inf")
        self._load_lock = threading.Lock()
        self.last_error: str | None = None

    def _refresh(self) -> None:
        ref = self.registry.resolve(self.alias)
        if ref is None:
            raise LookupError(f"no model version has alias {self.alias!r}")
        if not ref.deployable:
            # The alias was moved outside Vitae (MLflow UI/API) to a version that never passed the gate.
            raise NotDeployableError(
                f"{ref.name} v{ref.version} (alias {self.alias!r}) is not stage=prod; not serving it"
            )
        current = self._predictor
        if current is None or current.version != ref.version:
            predictor = self.registry.load(ref)
            self._predictor = predictor
            log.info("serving %s v%s (alias %s)", ref.name, ref.version, self.alias)

    def get(self) -> ResumePredictor:
        predictor = self._predictor
        if predictor is not None and time.monotonic() - self._checked_at < self.refresh_seconds:
            return predictor
        if predictor is None:
            with self._load_lock:  # first load: everyone waits for it
                if self._predictor is None:
                    self._refresh()
                    self._checked_at = time.monotonic()
                assert self._predictor is not None
                return self._predictor
        if not self._load_lock.acquire(blocking=False):
            return predictor  # someone else is refreshing
        try:
            if time.monotonic() - self._checked_at >= self.refresh_seconds:
                try:
                    self._refresh()
                    self.last_error = None
                except Exception as exc:
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.warning(
                        "model refresh failed, keeping v%s: %s",
                        predictor.version,
                        self.last_error,
                    )
                finally:
                    self._checked_at = time.monotonic()
        finally:
            self._load_lock.release()
        assert self._predictor is not None
        return self._predictor

    @property
    def version(self) -> str | None:
        return self._predictor.version if self._predictor else None


def registry_from_settings(settings: Settings) -> ModelRegistry:
    """The registry every Vitae process uses (same store, same download cache, same audit trail).

    The governance store is PostgreSQL (``settings.database_url``), connected only when used
    (promotion, rollback, bootstrap, lineage checks), so serving processes never touch it.
    """
    from .promotion import GateConfig, PostgresGovernance

    return ModelRegistry(
        settings.mlflow_uri,
        settings.mlflow_artifacts,
        settings.model_name,
        settings.model_cache_dir,
        governance=PostgresGovernance(settings.database_url.get_secret_value()),
        gate=GateConfig.from_settings(settings),
        data_dir=settings.training_data_dir,
    )

"""MLflow-backed model registry: register with lineage, promote by alias, load by alias.

MLflow is imported lazily (it is slow to import) so the inference path stays light. MLflow is
the source of truth: a predictor is only ever loaded from a registered version's artifacts,
downloaded once into ``cache_dir/<version>`` and checked against the version's recorded sha256.
"""

from __future__ import annotations

import contextlib
import fcntl
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
)


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str
    run_id: str
    tags: dict[str, str]


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
    def __init__(self, tracking_uri: str, artifact_root: str, model_name: str, cache_dir: Path) -> None:
        for key, value in _OFFLINE_ENV.items():
            os.environ.setdefault(key, value)
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root.rstrip("/")
        self.model_name = model_name
        self.cache_dir = Path(cache_dir)
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
        return self._ref(client.get_model_version(self.model_name, str(mv.version)))

    def promote(self, version: str, alias: str = "production") -> None:
        client = self._client
        client.get_model_version(self.model_name, str(version))  # raises when unknown
        previous = self.resolve(alias)
        client.set_model_version_tag(self.model_name, str(version), "stage", "prod")
        client.set_model_version_tag(self.model_name, str(version), f"promoted_{alias}_at", str(int(time.time())))
        client.set_registered_model_alias(self.model_name, alias, str(version))
        if previous is not None and previous.version != str(version):
            client.set_model_version_tag(self.model_name, previous.version, "stage", "archived")

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
        target = self.cache_dir / str(mv.version)
        if not self._cache_valid(target, expected):
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            with self._file_lock(self.cache_dir / ".download.lock"):
                if not self._cache_valid(target, expected):
                    self._download(mv.source, target)
            if not self._cache_valid(target, expected):
                raise ValueError(f"artifacts of {self.model_name} v{mv.version} failed the integrity check")
        return ResumePredictor.load(target, name=self.model_name, version=str(mv.version))

    def list_versions(self) -> list[dict[str, Any]]:
        try:
            versions = self._client.search_model_versions(f"name='{self.model_name}'")
        except Exception as exc:
            if self._is_missing(exc):
                return []
            raise
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
            out.append(
                {
                    "version": str(mv.version),
                    "aliases": sorted(aliases.get(str(mv.version), [])),
                    "run_id": mv.run_id,
                    "status": mv.status,
                    "created": mv.creation_timestamp,
                    "source": mv.source,
                    "tags": dict(mv.tags or {}),
                }
            )
        return out

    # -- helpers ------------------------------------------------------------------------------------
    @staticmethod
    def _cache_valid(target: Path, expected_sha: str | None) -> bool:
        model = target / MODEL_FILE
        if not model.is_file() or not (target / ".complete").is_file():
            return False
        return expected_sha is None or sha256_file(model) == expected_sha

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


def ensure_production_model(registry: ModelRegistry, alias: str, *, data_dir: Path | None, work_dir: Path) -> ModelRef:
    """The version behind ``alias``; when there is none, train, register and promote one.

    A file lock in ``work_dir`` keeps concurrent starters from training twice.
    """
    ref = registry.resolve(alias)
    if ref is not None:
        return ref
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
            registry.promote(ref.version, alias)
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
    """The registry every Vitae process uses (same store, same download cache)."""
    return ModelRegistry(settings.mlflow_uri, settings.mlflow_artifacts, settings.model_name, settings.model_cache_dir)

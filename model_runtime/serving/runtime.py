"""The scoring endpoint's runtime: loaded deployments, per-request routing, and the control plane.

Shaped like an Azure ML managed online endpoint. Several named deployments (``blue``,
``green``, …) each serve one registered model version; live traffic is split between them by
weight, a request may pin one deployment with the ``azureml-model-deployment`` header, and a
share of live traffic may be *mirrored* (copied) to one deployment without traffic, whose
answer is discarded.

Control-plane changes (deploy a version, change the split) are validated, refused for model
versions whose registry tag ``stage`` is not ``prod``, audited, persisted, and only then
applied. A new version is loaded from the registry *before* the deployment switches to it, so
requests never wait on a load and never fail in between. Predictors are cached per version
and shared by deployments that serve the same version.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from model_runtime.audit_event import ModelEvent
from model_runtime.predictor import ResumePredictor
from model_runtime.serving import payload
from model_runtime.serving.audit import AuditSink
from model_runtime.serving.state import (
    DeploymentSpec,
    EndpointState,
    StateError,
    load_state,
    save_state,
    validate_name,
)

if TYPE_CHECKING:
    from model_runtime.registry import ModelRef
    from vitae.telemetry import ModelMetrics

log = logging.getLogger("vitae.scoring")

DEPLOYABLE_STAGE = "prod"
BOOTSTRAP_DEPLOYMENT = "blue"


class RegistryLike(Protocol):
    model_name: str

    def get_version(self, version: str) -> ModelRef: ...

    def resolve(self, alias: str) -> ModelRef | None: ...

    def load(self, ref: ModelRef) -> ResumePredictor: ...


class EndpointError(Exception):
    """A request or change the endpoint refuses; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class DeploymentStats:
    requests: int = 0
    mirrored: int = 0
    mirror_errors: int = 0


class ScoringEndpoint:
    def __init__(
        self,
        registry: RegistryLike,
        state_path: Path,
        *,
        endpoint_name: str,
        audit: AuditSink | None,
        rng: random.Random | None = None,
        metrics: ModelMetrics | None = None,
        retry_seconds: float = 5.0,
    ) -> None:
        self.registry = registry
        self.model_name = registry.model_name
        self.state_path = Path(state_path)
        self.audit = audit
        self.metrics = metrics
        self.state = EndpointState(endpoint_name, self.model_name)
        self._rng = rng or random.Random()
        self._retry_seconds = retry_seconds
        self._predictors: dict[str, ResumePredictor] = {}  # model version -> loaded predictor
        self._loads: dict[str, asyncio.Task[ResumePredictor]] = {}
        self._load_errors: dict[str, str] = {}
        self._control = asyncio.Lock()
        self._stats: dict[str, DeploymentStats] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._loader: asyncio.Task[None] | None = None
        self.started = False

    # -- lifecycle ----------------------------------------------------------------------------------
    async def start(self, *, bootstrap_alias: str | None = None, actor: str = "vitae-scoring") -> None:
        """Read the persisted state (or bootstrap it) and start loading every deployment's model.

        Returns at once: liveness is up while models load; readiness follows the loads.
        Bootstrap (no state file yet): ``blue`` = the version behind ``bootstrap_alias``, 100 %.
        """
        state = await asyncio.to_thread(load_state, self.state_path)
        if state is not None and state.model_name != self.model_name:
            raise RuntimeError(f"{self.state_path} is an endpoint of {state.model_name}, not {self.model_name}")
        if state is None:
            state = self.state
            if bootstrap_alias:
                state = await self._bootstrap(bootstrap_alias, actor) or state
        self.state = state
        self.started = True
        self._loader = asyncio.create_task(self._keep_loaded(), name="scoring-loader")

    async def _bootstrap(self, alias: str, actor: str) -> EndpointState | None:
        ref = await asyncio.to_thread(self.registry.resolve, alias)
        if ref is None:
            log.warning("no version has alias %r: the endpoint starts with no deployment", alias)
            return None
        if ref.tags.get("stage") != DEPLOYABLE_STAGE:
            log.warning("v%s (@%s) is not stage=prod: the endpoint starts with no deployment", ref.version, alias)
            return None
        new = self.state.with_changes(
            deployments={BOOTSTRAP_DEPLOYMENT: DeploymentSpec(ref.version)},
            traffic={BOOTSTRAP_DEPLOYMENT: 100},
        )
        await self._record(
            "deploy",
            actor,
            version=ref.version,
            target=BOOTSTRAP_DEPLOYMENT,
            reason=f"bootstrap: endpoint state created from @{alias}",
            details={"endpoint": new.name, "revision": new.revision, "traffic": new.traffic, "bootstrap": True},
        )
        await asyncio.to_thread(save_state, self.state_path, new)
        log.info("bootstrapped endpoint %s: %s v%s at 100 %%", new.name, BOOTSTRAP_DEPLOYMENT, ref.version)
        return new

    async def aclose(self) -> None:
        tasks = [t for t in (self._loader, *self._background, *self._loads.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        if self.audit is not None:
            await self.audit.aclose()

    async def _keep_loaded(self) -> None:
        """Load every deployment's version; retry failed loads until all are in memory."""
        while True:
            missing = sorted({s.model_version for s in self.state.deployments.values()} - set(self._predictors))
            failed = False
            for version in missing:
                try:
                    await self._load(version)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    failed = True
            if not failed and not missing:
                return
            if failed:
                await asyncio.sleep(self._retry_seconds)

    async def _load(self, version: str) -> ResumePredictor:
        """The predictor of ``version``, loading it from the registry once (concurrent callers share)."""
        loaded = self._predictors.get(version)
        if loaded is not None:
            return loaded
        task = self._loads.get(version)
        if task is None:
            task = asyncio.create_task(self._load_now(version), name=f"load-v{version}")
            self._loads[version] = task
        try:
            return await asyncio.shield(task)
        finally:
            if task.done():
                self._loads.pop(version, None)

    async def _load_now(self, version: str) -> ResumePredictor:
        try:
            ref = await asyncio.to_thread(self.registry.get_version, version)
            predictor = await asyncio.to_thread(self.registry.load, ref)
        except Exception as exc:
            self._load_errors[version] = f"{type(exc).__name__}: {exc}"
            log.warning("loading %s v%s failed: %s", self.model_name, version, self._load_errors[version])
            raise
        self._predictors[version] = predictor
        self._load_errors.pop(version, None)
        log.info("loaded %s v%s", self.model_name, version)
        return predictor

    def _evict_unused(self) -> None:
        used = {spec.model_version for spec in self.state.deployments.values()}
        for version in list(self._predictors):
            if version not in used:
                # In-flight requests keep their own reference; new ones cannot route here.
                del self._predictors[version]

    # -- probes -------------------------------------------------------------------------------------
    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Ready when every deployment with live traffic has its model in memory."""
        state = self.state
        live = state.live_deployments()
        details = {
            name: {
                "model_version": spec.model_version,
                "traffic": state.traffic.get(name, 0),
                "loaded": spec.model_version in self._predictors,
                **({"error": self._load_errors[spec.model_version]} if spec.model_version in self._load_errors else {}),
            }
            for name, spec in sorted(state.deployments.items())
        }
        ready = self.started and bool(live) and all(details[name]["loaded"] for name in live)
        return ready, details

    # -- data plane ---------------------------------------------------------------------------------
    def _predictor_of(self, state: EndpointState, name: str) -> ResumePredictor:
        version = state.deployments[name].model_version
        predictor = self._predictors.get(version)
        if predictor is None:
            problem = self._load_errors.get(version, "still loading")
            raise EndpointError(503, "DeploymentNotReady", f"deployment {name!r} (v{version}) is not ready: {problem}")
        return predictor

    def route(self, pinned: str | None) -> tuple[str, ResumePredictor]:
        """The deployment for one request: the pinned one, else a weighted random pick."""
        state = self.state
        if pinned:
            if pinned not in state.deployments:
                raise EndpointError(404, "DeploymentNotFound", f"no deployment {pinned!r} in endpoint {state.name}")
            return pinned, self._predictor_of(state, pinned)
        live = state.live_deployments()
        if not live:
            raise EndpointError(503, "NoTraffic", f"endpoint {state.name} routes no traffic to any deployment")
        draw = self._rng.randrange(100)
        cumulative = 0
        name = live[-1]
        for candidate in live:
            cumulative += state.traffic[candidate]
            if draw < cumulative:
                name = candidate
                break
        return name, self._predictor_of(state, name)

    def _mirror_target(self, pinned: str | None) -> tuple[str, ResumePredictor] | None:
        # As in Azure ML, a request pinned to a deployment by header is not mirrored.
        if pinned:
            return None
        state = self.state
        for name, percent in state.mirror_traffic.items():
            if self._rng.randrange(100) < percent:
                predictor = self._predictors.get(state.deployments[name].model_version)
                return (name, predictor) if predictor is not None else None
        return None

    async def score(self, texts: list[str], batch: bool, pinned: str | None = None) -> dict[str, Any]:
        name, predictor = self.route(pinned)
        mirror = self._mirror_target(pinned)
        if mirror is not None:
            task = asyncio.create_task(self._mirror(mirror[0], mirror[1], texts, batch))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        body = await asyncio.to_thread(payload.score, predictor, texts, batch, name)
        self._stats.setdefault(name, DeploymentStats()).requests += 1
        self._observe(body, texts, batch, name)
        return body

    async def _mirror(self, name: str, predictor: ResumePredictor, texts: list[str], batch: bool) -> None:
        stats = self._stats.setdefault(name, DeploymentStats())
        try:
            body = await asyncio.to_thread(payload.score, predictor, texts, batch, name)
        except Exception as exc:  # a mirror's failure never reaches the caller
            stats.mirror_errors += 1
            log.warning("mirrored request to %s failed: %s", name, exc)
            return
        stats.mirrored += 1
        self._observe(body, texts, batch, name)

    def _observe(self, body: dict[str, Any], texts: list[str], batch: bool, name: str) -> None:
        if self.metrics is None:
            return
        predictions = body["predictions"] if batch else [body]
        for text, one in zip(texts, predictions, strict=True):
            self.metrics.prediction(
                body["modelName"],
                body["modelVersion"],
                float(one["inferenceMs"]),
                len(text),
                [e["label"] for e in one["entities"]],
                model_deployment=name,
            )

    async def drain(self) -> None:
        """Wait for in-flight mirror copies (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    # -- control plane ------------------------------------------------------------------------------
    async def _record(self, action: str, actor: str, **fields: Any) -> None:
        event = ModelEvent(action=action, actor=actor, model_name=self.model_name, **fields)
        if self.audit is None:
            log.info("audit disabled: %s", event)
            return
        try:
            await self.audit.record(event)
        except Exception as exc:
            raise EndpointError(
                503, "AuditUnavailable", f"change not applied: the audit store could not be written ({exc})"
            ) from exc

    async def _commit(self, new: EndpointState) -> None:
        await asyncio.to_thread(save_state, self.state_path, new)
        self.state = new
        self._evict_unused()

    async def deploy(self, name: str, version: str, *, actor: str, reason: str | None) -> dict[str, Any]:
        """Point deployment ``name`` at model ``version`` (created with 0 % traffic if new, or
        100 % if it is the endpoint's first). Loads the version before switching."""
        try:
            validate_name(name)
        except StateError as exc:
            raise EndpointError(exc.status, exc.code, str(exc)) from None
        async with self._control:
            try:
                ref = await asyncio.to_thread(self.registry.get_version, str(version))
            except Exception as exc:
                raise EndpointError(
                    404, "ModelVersionNotFound", f"{self.model_name} v{version} is not in the registry ({exc})"
                ) from None
            stage = ref.tags.get("stage")
            if stage != DEPLOYABLE_STAGE:
                raise EndpointError(
                    409,
                    "ModelVersionNotDeployable",
                    f"{self.model_name} v{ref.version} has stage={stage or 'unset'}: only stage=prod versions "
                    "can be deployed",
                )
            old = self.state
            previous = old.deployments.get(name)
            if previous is not None and previous.model_version == ref.version:
                return {"changed": False, "endpoint": self.describe()}
            deployments = {**old.deployments, name: DeploymentSpec(ref.version)}
            traffic = dict(old.traffic) if old.deployments else {name: 100}
            try:
                new = old.with_changes(deployments=deployments, traffic=traffic)
            except StateError as exc:
                raise EndpointError(exc.status, exc.code, str(exc)) from None
            try:
                await self._load(ref.version)  # before the switch: no request waits on a load
            except Exception as exc:
                raise EndpointError(
                    502, "ModelLoadFailed", f"{self.model_name} v{ref.version} could not be loaded: {exc}"
                ) from None
            await self._record(
                "deploy",
                actor,
                version=ref.version,
                from_version=previous.model_version if previous else None,
                target=name,
                reason=reason,
                details={
                    "endpoint": new.name,
                    "revision": new.revision,
                    "created": previous is None,
                    "traffic": new.traffic,
                    "mirror_traffic": new.mirror_traffic,
                },
            )
            await self._commit(new)
            log.info(
                "deployment %s: v%s -> v%s (%s)", name, previous.model_version if previous else "-", ref.version, actor
            )
            return {"changed": True, "endpoint": self.describe()}

    async def set_traffic(
        self,
        traffic: dict[str, int],
        mirror_traffic: dict[str, int] | None,
        *,
        actor: str,
        reason: str | None,
    ) -> dict[str, Any]:
        """Replace the traffic split (and the mirror split when given), like
        ``az ml online-endpoint update --traffic "blue=90 green=10" --mirror-traffic "green=10"``."""
        async with self._control:
            old = self.state
            try:
                new = old.with_changes(traffic=traffic, mirror_traffic=mirror_traffic)
            except StateError as exc:
                raise EndpointError(exc.status, exc.code, str(exc)) from None
            if new.traffic == old.traffic and new.mirror_traffic == old.mirror_traffic:
                return {"changed": False, "endpoint": self.describe()}
            for name in [*new.live_deployments(), *new.mirror_traffic]:
                version = new.deployments[name].model_version
                if version not in self._predictors:
                    problem = self._load_errors.get(version, "still loading")
                    raise EndpointError(
                        409, "DeploymentNotReady", f"deployment {name!r} (v{version}) cannot take traffic: {problem}"
                    )
            await self._record(
                "traffic",
                actor,
                version=None,
                target=new.name,
                reason=reason,
                details={
                    "endpoint": new.name,
                    "revision": new.revision,
                    "traffic": new.traffic,
                    "mirror_traffic": new.mirror_traffic,
                    "from_traffic": old.traffic,
                    "from_mirror_traffic": old.mirror_traffic,
                    "versions": {n: s.model_version for n, s in new.deployments.items()},
                },
            )
            await self._commit(new)
            log.info("traffic %s mirror %s (%s)", new.traffic, new.mirror_traffic, actor)
            return {"changed": True, "endpoint": self.describe()}

    async def delete(self, name: str, *, actor: str, reason: str | None) -> dict[str, Any]:
        """Remove a deployment that gets neither live nor mirrored traffic."""
        async with self._control:
            old = self.state
            if name not in old.deployments:
                raise EndpointError(404, "DeploymentNotFound", f"no deployment {name!r} in endpoint {old.name}")
            if old.traffic.get(name, 0) or old.mirror_traffic.get(name, 0):
                raise EndpointError(
                    409, "DeploymentHasTraffic", f"deployment {name!r} still gets traffic: set it to 0 first"
                )
            deployments = {n: s for n, s in old.deployments.items() if n != name}
            traffic = {n: p for n, p in old.traffic.items() if n != name}
            try:
                new = old.with_changes(deployments=deployments, traffic=traffic)
            except StateError as exc:
                raise EndpointError(exc.status, exc.code, str(exc)) from None
            await self._record(
                "deploy",
                actor,
                version=None,
                from_version=old.deployments[name].model_version,
                target=name,
                reason=reason,
                details={"endpoint": new.name, "revision": new.revision, "deleted": True},
            )
            await self._commit(new)
            return {"changed": True, "endpoint": self.describe()}

    def describe(self) -> dict[str, Any]:
        ready, deployments = self.readiness()
        for name, item in deployments.items():
            stats = self._stats.get(name, DeploymentStats())
            item.update(
                mirror_traffic=self.state.mirror_traffic.get(name, 0),
                requests=stats.requests,
                mirrored=stats.mirrored,
                mirror_errors=stats.mirror_errors,
            )
        return {**self.state.to_json(), "ready": ready, "deployment_status": deployments}

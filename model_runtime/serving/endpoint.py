"""The scoring server (Option B): an HTTP app shaped like an Azure ML managed online endpoint.

Data plane (``Authorization: Bearer <VITAE_SCORING_KEY>``):

* ``POST /score`` — ``{"text": ...}`` or ``{"input_data": [...]}``; the answer names the
  deployment and model version that served it, also in the ``azureml-model-deployment``
  response header. The same request header pins a deployment (even one with 0 % traffic).

Probes (no key, as Azure ML's are internal to the deployment): ``GET /`` and
``/health/live`` (liveness), ``/health/ready`` (200 only when every deployment with live
traffic has its model loaded, else 503), ``/healthz`` and ``/metrics`` like every Vitae process.

Control plane (``Authorization: Bearer <VITAE_SCORING_ADMIN_KEY>``), what ``az ml
online-endpoint update`` / ``online-deployment update`` do in Azure: ``GET /admin/endpoint``,
``PUT /admin/deployments/{name}`` ``{"model_version": "3"}``, ``DELETE
/admin/deployments/{name}``, ``PUT /admin/traffic`` ``{"traffic": {...}, "mirror_traffic":
{...}}``; each takes ``actor`` and ``reason`` for the audit trail.
"""

from __future__ import annotations

import hmac
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from model_runtime.serving.audit import AuditSink
from model_runtime.serving.payload import DEPLOYMENT_HEADER, ScoringRequestError, parse_request
from model_runtime.serving.runtime import EndpointError, RegistryLike, ScoringEndpoint
from vitae.settings import DEV_SCORING_ADMIN_KEY, DEV_SCORING_KEY, Settings

log = logging.getLogger("vitae.scoring")

ENDPOINT_NAME = "vitae-scoring"
DEFAULT_ACTOR = "admin-api"


def state_path(settings: Settings) -> Path:
    return (settings.state_dir / "scoring" / "endpoint.json").resolve()


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _authorized(request: Request, *keys: str) -> bool:
    token = _bearer(request)
    if token is None:
        return False
    # Every key is compared (no short circuit), so timing tells nothing about which matched.
    matches = [hmac.compare_digest(token.encode(), key.encode()) for key in keys]
    return any(matches)


def _unauthorized() -> JSONResponse:
    return _error(401, "Unauthorized", "missing or wrong key", headers={"WWW-Authenticate": "Bearer"})


def _refuse_dev_keys(settings: Settings) -> None:
    if settings.environment != "production":
        return
    secondary = settings.scoring_secondary_key
    if DEV_SCORING_KEY in (settings.scoring_key.get_secret_value(), secondary and secondary.get_secret_value()):
        raise ValueError("refusing the development VITAE_SCORING_KEY in production")
    if settings.scoring_admin_key.get_secret_value() == DEV_SCORING_ADMIN_KEY:
        raise ValueError("refusing the development VITAE_SCORING_ADMIN_KEY in production")


def create_scoring_app(
    settings: Settings,
    *,
    endpoint: ScoringEndpoint | None = None,
    registry: RegistryLike | None = None,
    audit: AuditSink | None = None,
    rng: random.Random | None = None,
    bootstrap: bool = True,
) -> FastAPI:
    """The scoring app. Without ``endpoint``, one is built from ``settings`` (the registry of
    ``registry_from_settings``, the audit trail in PostgreSQL) and started by the lifespan;
    tests pass a started ``endpoint`` of their own."""
    _refuse_dev_keys(settings)
    from vitae.telemetry import prometheus_payload, setup_telemetry

    telemetry = setup_telemetry(settings, "scoring")
    if endpoint is None:
        if registry is None:
            from model_runtime.registry import registry_from_settings

            registry = registry_from_settings(settings)
        if audit is None:
            from model_runtime.serving.audit import PostgresAudit

            audit = PostgresAudit(settings.database_url.get_secret_value())
        if rng is None and settings.scoring_seed is not None:
            rng = random.Random(settings.scoring_seed)
        endpoint = ScoringEndpoint(
            registry,
            state_path(settings),
            endpoint_name=ENDPOINT_NAME,
            audit=audit,
            rng=rng,
            metrics=telemetry.model,
        )
    served = endpoint
    scoring_keys = [settings.scoring_key.get_secret_value()]
    if settings.scoring_secondary_key is not None and settings.scoring_secondary_key.get_secret_value():
        scoring_keys.append(settings.scoring_secondary_key.get_secret_value())
    admin_key = settings.scoring_admin_key.get_secret_value()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = not served.started
        if owned:
            from vitae.stores.model_audit import default_actor

            await served.start(bootstrap_alias=settings.model_alias if bootstrap else None, actor=default_actor())
        try:
            yield
        finally:
            if owned:
                await served.aclose()

    app = FastAPI(title="Vitae scoring endpoint", version="1", lifespan=lifespan)
    app.state.endpoint = served
    from api.middleware import add_request_metrics

    add_request_metrics(app, telemetry.system)

    @app.exception_handler(EndpointError)
    async def _endpoint_error(request: Request, exc: EndpointError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    # -- probes --------------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    async def root() -> PlainTextResponse:
        return PlainTextResponse("Healthy")

    @app.get("/health/live")
    async def live() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready")
    async def ready() -> JSONResponse:
        ok, deployments = served.readiness()
        return JSONResponse({"ready": ok, "deployments": deployments}, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        body, content_type = prometheus_payload()
        return Response(body, media_type=content_type)

    # -- data plane ----------------------------------------------------------------------------
    @app.post("/score")
    async def score(request: Request) -> Response:
        if not _authorized(request, *scoring_keys):
            return _unauthorized()
        try:
            texts, batch = parse_request(await request.json())
        except ScoringRequestError as exc:
            return _error(exc.status, "BadRequest", str(exc))
        except ValueError:
            return _error(400, "BadRequest", "the body is not JSON")
        pinned = request.headers.get(DEPLOYMENT_HEADER) or None
        body = await served.score(texts, batch, pinned)
        return JSONResponse(body, headers={DEPLOYMENT_HEADER: str(body["deployment"])})

    # -- control plane -------------------------------------------------------------------------
    async def admin_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        try:
            data = await request.json()
        except ValueError:
            raise EndpointError(400, "BadRequest", "the body is not JSON") from None
        if not isinstance(data, dict):
            raise EndpointError(400, "BadRequest", "expected a JSON object")
        return data

    def who(data: dict[str, Any]) -> tuple[str, str | None]:
        actor = str(data.get("actor") or DEFAULT_ACTOR).strip() or DEFAULT_ACTOR
        reason = data.get("reason")
        return actor, (str(reason) if reason else None)

    @app.get("/admin/endpoint")
    async def show(request: Request) -> Response:
        if not _authorized(request, admin_key):
            return _unauthorized()
        return JSONResponse(served.describe())

    @app.put("/admin/deployments/{name}")
    async def deploy(name: str, request: Request) -> Response:
        if not _authorized(request, admin_key):
            return _unauthorized()
        data = await admin_body(request)
        version = data.get("model_version")
        if not isinstance(version, str | int) or isinstance(version, bool) or not str(version).strip():
            raise EndpointError(400, "BadRequest", '"model_version" is required')
        actor, reason = who(data)
        return JSONResponse(await served.deploy(name, str(version).strip(), actor=actor, reason=reason))

    @app.delete("/admin/deployments/{name}")
    async def delete(name: str, request: Request) -> Response:
        if not _authorized(request, admin_key):
            return _unauthorized()
        actor, reason = who(await admin_body(request))
        return JSONResponse(await served.delete(name, actor=actor, reason=reason))

    @app.put("/admin/traffic")
    async def traffic(request: Request) -> Response:
        if not _authorized(request, admin_key):
            return _unauthorized()
        data = await admin_body(request)
        split = data.get("traffic")
        mirror = data.get("mirror_traffic")
        if not isinstance(split, dict) or (mirror is not None and not isinstance(mirror, dict)):
            raise EndpointError(400, "BadRequest", '"traffic" (and "mirror_traffic", if given) must be objects')
        actor, reason = who(data)
        return JSONResponse(await served.set_traffic(split, mirror, actor=actor, reason=reason))

    return app

"""One interface for both ways of serving the model to the worker.

* Option A, :class:`InProcessScorer`: the worker loads the registry's production version
  itself (``ProductionModel``, which follows the alias without a restart).
* Option B, :class:`EndpointScorer`: the worker calls a scoring endpoint over HTTP — the local
  scoring server (``model_runtime.serving``) or an Azure ML managed online endpoint — which
  decides which deployment, and so which model version, serves each request. Deploying a
  version or changing the traffic split there needs no worker restart.

``VITAE_MODEL_SERVING`` picks one (:func:`scorer_from_settings`). Both return a
:class:`ScoreResult` with the same entities and fields and the model version that was
actually served.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from model_runtime.entities import Entity
from model_runtime.serving.payload import DEPLOYMENT_HEADER, entities_from
from model_runtime.structure import structure_entities

if TYPE_CHECKING:
    import httpx

    from model_runtime.registry import ProductionModel
    from vitae.settings import Settings

# Error codes (the job's error code when the failure is not retryable).
SCORING_UNAUTHORIZED = "SCORING_UNAUTHORIZED"
SCORING_DEPLOYMENT_NOT_FOUND = "SCORING_DEPLOYMENT_NOT_FOUND"
SCORING_INPUT_TOO_LARGE = "SCORING_INPUT_TOO_LARGE"
SCORING_BAD_REQUEST = "SCORING_BAD_REQUEST"
SCORING_REJECTED = "SCORING_REJECTED"
SCORING_THROTTLED = "SCORING_THROTTLED"
SCORING_UNAVAILABLE = "SCORING_UNAVAILABLE"
SCORING_TIMEOUT = "SCORING_TIMEOUT"
SCORING_BAD_RESPONSE = "SCORING_BAD_RESPONSE"


@dataclass(frozen=True)
class ScoreResult:
    model_name: str
    model_version: str
    entities: list[Entity]
    fields: dict[str, Any]
    # Milliseconds as the caller saw them: the predictor call (A) or the HTTP round trip (B).
    elapsed_ms: float
    # The endpoint deployment that served the request (None in-process).
    deployment: str | None = None


class ScoringError(Exception):
    """The endpoint did not score. ``retryable``: 5xx, 429, timeouts and connection errors."""

    def __init__(self, code: str, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable
        self.status = status


class Scorer(Protocol):
    mode: str

    async def warm_up(self) -> str:
        """Get ready before the worker polls for work; returns what will serve (for the log)."""
        ...

    async def score(self, text: str) -> ScoreResult: ...

    async def aclose(self) -> None: ...


class InProcessScorer:
    """Option A: the registry's production version, in this process."""

    mode = "inprocess"

    def __init__(self, model: ProductionModel) -> None:
        self.model = model

    async def warm_up(self) -> str:
        predictor = await asyncio.to_thread(self.model.get)
        return f"{predictor.name} v{predictor.version} in-process (@{self.model.alias})"

    async def score(self, text: str) -> ScoreResult:
        # The first call (or an alias move) loads a model version: off the event loop.
        predictor = await asyncio.to_thread(self.model.get)
        started = time.perf_counter()
        prediction = await asyncio.to_thread(predictor.predict, text)
        elapsed_ms = (time.perf_counter() - started) * 1000
        return ScoreResult(
            model_name=prediction.model_name,
            model_version=prediction.model_version,
            entities=list(prediction.entities),
            fields=structure_entities(prediction.entities, text),
            elapsed_ms=elapsed_ms,
        )

    async def aclose(self) -> None:
        return None


class EndpointScorer:
    """Option B: ``POST /score`` on a scoring endpoint with key auth.

    One pooled keep-alive client per process. Connection errors and 502/503/504 are retried
    here a couple of times with a short backoff (a restarting server); whatever still fails is
    raised as :class:`ScoringError`, retryable or not, for Temporal's retry policy to handle.
    """

    mode = "endpoint"

    def __init__(
        self,
        url: str,
        key: str,
        *,
        deployment: str | None = None,
        timeout: float = 20.0,
        connect_timeout: float = 3.0,
        retries: int = 2,
        backoff: float = 0.25,
        ready_timeout: float = 60.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        import httpx

        self.url = url
        self.deployment = deployment or None
        self._retries = retries
        self._backoff = backoff
        self._ready_timeout = ready_timeout
        self._headers = {"Authorization": f"Bearer {key}"}
        if self.deployment:
            self._headers[DEPLOYMENT_HEADER] = self.deployment
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16, keepalive_expiry=60),
        )

    @property
    def base_url(self) -> str:
        url = self.url.rstrip("/")
        return url.removesuffix("/score")

    async def warm_up(self) -> str:
        """Wait (bounded) for the endpoint's readiness probe; also opens the pooled connection.

        Only the local server answers the probe; Azure ML keeps it inside the deployment (its
        front end answers 4xx): then there is nothing to wait for.
        """
        import httpx

        deadline = time.monotonic() + self._ready_timeout
        last = "no answer"
        while True:
            try:
                response = await self._client.get(f"{self.base_url}/health/ready")
                if response.status_code == 200 or 400 <= response.status_code < 500:
                    break
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}"
            if time.monotonic() >= deadline:
                return f"{self.url} NOT READY after {self._ready_timeout:.0f} s ({last}); activities will retry"
            await asyncio.sleep(0.5)
        pin = f", pinned to {self.deployment}" if self.deployment else ""
        return f"scoring endpoint {self.url}{pin}"

    async def score(self, text: str) -> ScoreResult:
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                return self._result(await self._post({"text": text}), started)
            except ScoringError as err:
                quick_retry = err.code == SCORING_UNAVAILABLE  # refused connection, 502/503/504
                if not quick_retry or attempt >= self._retries:
                    raise
            await asyncio.sleep(self._backoff * (4**attempt))
            attempt += 1

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        import httpx

        try:
            response = await self._client.post(self.url, json=body, headers=self._headers)
        except httpx.TimeoutException as exc:
            raise ScoringError(SCORING_TIMEOUT, f"{type(exc).__name__} calling {self.url}", retryable=True) from exc
        except httpx.TransportError as exc:
            raise ScoringError(
                SCORING_UNAVAILABLE, f"{type(exc).__name__} calling {self.url}: {exc}", retryable=True
            ) from exc
        if response.status_code != 200:
            raise _error_for(response)
        return response

    def _result(self, response: httpx.Response, started: float) -> ScoreResult:
        try:
            body = response.json()
            entities = entities_from(body["entities"])
            result = ScoreResult(
                model_name=str(body["modelName"]),
                model_version=str(body["modelVersion"]),
                entities=entities,
                fields=dict(body["fields"]),
                elapsed_ms=(time.perf_counter() - started) * 1000,
                deployment=body.get("deployment") or response.headers.get(DEPLOYMENT_HEADER),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ScoringError(
                SCORING_BAD_RESPONSE, f"unexpected answer from {self.url}: {exc!r}", retryable=True
            ) from exc
        return result

    async def aclose(self) -> None:
        await self._client.aclose()


def _error_for(response: httpx.Response) -> ScoringError:
    status = response.status_code
    try:
        detail = response.json().get("error", {}).get("message") or response.text[:300]
    except (ValueError, AttributeError):
        detail = response.text[:300]
    message = f"HTTP {status} from {response.request.url}: {detail}"
    if status in (401, 403):
        return ScoringError(SCORING_UNAUTHORIZED, message, retryable=False, status=status)
    if status == 404:
        return ScoringError(SCORING_DEPLOYMENT_NOT_FOUND, message, retryable=False, status=status)
    if status == 413:
        return ScoringError(SCORING_INPUT_TOO_LARGE, message, retryable=False, status=status)
    if status == 429:
        return ScoringError(SCORING_THROTTLED, message, retryable=True, status=status)
    if status in (400, 422):
        return ScoringError(SCORING_BAD_REQUEST, message, retryable=False, status=status)
    if 400 <= status < 500:
        return ScoringError(SCORING_REJECTED, message, retryable=False, status=status)
    if status in (502, 503, 504):
        return ScoringError(SCORING_UNAVAILABLE, message, retryable=True, status=status)
    return ScoringError(SCORING_UNAVAILABLE if status >= 500 else SCORING_BAD_RESPONSE, message, retryable=True)


def scorer_from_settings(settings: Settings) -> Scorer:
    """``VITAE_MODEL_SERVING=inprocess`` (default) or ``endpoint`` (``VITAE_SCORING_URL``, …)."""
    if settings.model_serving == "endpoint":
        return EndpointScorer(
            settings.scoring_url,
            settings.scoring_key.get_secret_value(),
            deployment=settings.scoring_deployment,
            timeout=settings.scoring_timeout_seconds,
            ready_timeout=settings.scoring_ready_timeout_seconds,
        )
    from model_runtime.registry import ProductionModel, registry_from_settings

    return InProcessScorer(
        ProductionModel(registry_from_settings(settings), settings.model_alias, settings.model_refresh_seconds)
    )

"""A gateway enrichment worker: lease → fetch input → compute → complete (or fail).

It holds only a worker key and the gateway URL. The loop is deliberately conservative:

* the gateway being unreachable (connection errors, 5xx) never crashes the worker; calls are
  retried with capped exponential backoff and jitter, so a fleet does not stampede a gateway
  that is coming back;
* a bad input is reported with ``/work/fail`` ``retryable=False`` (retrying cannot fix it);
  an unexpected error in the enricher is reported retryable (another attempt may succeed);
* while computing, the lease is heartbeated when half of its remaining time has passed, so
  slow inputs do not lose their lease; a refused heartbeat (superseded run, lost lease)
  means the result is discarded rather than sent;
* SIGTERM/SIGINT (``stop``) ends a long-poll at once and lets a run in progress finish.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

log = logging.getLogger("vitae.enrichers.worker")

INPUT_SCHEMA = "vitae.enrichment.input/v1"


class InputError(Exception):
    """The run's input cannot be worked on; reported with ``retryable=False``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class GatewayUnavailable(Exception):
    """Raised only when ``stop`` is set while the gateway is still unreachable."""


@dataclass(frozen=True)
class Result:
    score: float
    summary: str


# The enricher: a snapshot (``vitae.enrichment.input/v1``) in, a result out. Synchronous and
# CPU-bound, so it runs in a thread while the event loop keeps the lease alive.
Compute = Callable[[dict[str, Any]], Result]


@dataclass
class WorkerConfig:
    gateway_url: str
    key: str
    enricher_types: list[str] | None = None
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()[:60]}-{os.getpid()}")
    wait_seconds: float = 20.0
    # "inline": the gateway embeds small snapshots in the lease (one round trip less);
    # "url": always fetch the read-only SAS link.
    input_mode: str = "inline"
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    request_timeout: float = 30.0


@dataclass
class WorkerStats:
    completed: int = 0
    failed: int = 0
    discarded: int = 0
    backoffs: list[float] = field(default_factory=list)


def validate_snapshot(snapshot: Any) -> dict[str, Any]:
    """The snapshot, if it is one this worker understands; else ``InputError``."""
    if not isinstance(snapshot, dict):
        raise InputError("INPUT_INVALID", "input is not a JSON object")
    if snapshot.get("schema") != INPUT_SCHEMA:
        raise InputError("INPUT_SCHEMA_UNSUPPORTED", f"expected schema {INPUT_SCHEMA}")
    job, cv = snapshot.get("job"), snapshot.get("cv")
    if not isinstance(job, dict) or not isinstance(cv, dict):
        raise InputError("INPUT_INVALID", "input lacks job or cv")
    if not isinstance(job.get("title", ""), str) or not isinstance(job.get("description", ""), str):
        raise InputError("INPUT_INVALID", "job title and description must be strings")
    if not (job.get("title") or job.get("description")):
        raise InputError("JOB_EMPTY", "the job has neither title nor description")
    text = cv.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InputError("CV_EMPTY", "the CV has no text")
    return snapshot


class EnrichmentWorker:
    def __init__(
        self,
        config: WorkerConfig,
        compute: Compute,
        *,
        http: httpx.AsyncClient | None = None,
        input_http: httpx.AsyncClient | None = None,
        stop: asyncio.Event | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.compute = compute
        headers = {"Authorization": f"Bearer {config.key}"}
        self._own_http = http is None
        self.http = http or httpx.AsyncClient(base_url=config.gateway_url.rstrip("/"), timeout=config.request_timeout)
        # Also on an injected client (tests, custom transports): the key is the worker's identity.
        self.http.headers.update(headers)
        # The SAS link must not receive the worker key: a separate client without it.
        self._own_input_http = input_http is None
        self.input_http = input_http or httpx.AsyncClient(timeout=config.request_timeout)
        self.stop = stop or asyncio.Event()
        self.rng = rng or random.Random()
        self.stats = WorkerStats()

    async def aclose(self) -> None:
        if self._own_http:
            await self.http.aclose()
        if self._own_input_http:
            await self.input_http.aclose()

    # --- gateway calls ------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        # "Equal jitter": half the exponential delay fixed, half random, so retries neither
        # synchronise across workers nor collapse to zero.
        ceiling = min(self.config.backoff_max, self.config.backoff_base * (2**attempt))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    async def _sleep_or_stop(self, seconds: float) -> bool:
        """Sleep; True when ``stop`` was set meanwhile."""
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
        except TimeoutError:
            return False
        return True

    async def _post(self, path: str, body: dict[str, Any], *, timeout: float | None = None) -> httpx.Response:
        """POST to the gateway, retrying transport errors and 5xx until it answers or ``stop``."""
        attempt = 0
        while True:
            try:
                response = await self.http.post(path, json=body, timeout=timeout or self.config.request_timeout)
                if response.status_code < 500:
                    return response
                reason = f"HTTP {response.status_code}"
            except httpx.TransportError as exc:
                reason = type(exc).__name__
            delay = self._backoff(attempt)
            self.stats.backoffs.append(delay)
            log.warning("gateway %s unavailable (%s); retrying in %.2f s", path, reason, delay)
            attempt += 1
            if await self._sleep_or_stop(delay):
                raise GatewayUnavailable(f"stopped while the gateway was unavailable ({reason})")

    async def _lease(self) -> dict[str, Any] | None:
        body: dict[str, Any] = {
            "workerId": self.config.worker_id,
            "waitSeconds": self.config.wait_seconds,
            "input": self.config.input_mode,
        }
        if self.config.enricher_types:
            body["enricherTypes"] = self.config.enricher_types
        response = await self._post("/work/lease", body, timeout=self.config.wait_seconds + self.config.request_timeout)
        if response.status_code == 204:
            return None
        if response.status_code != 200:
            # 401/403 are configuration errors: retrying the same key cannot help.
            raise RuntimeError(f"lease refused: HTTP {response.status_code} {response.text[:200]}")
        lease: dict[str, Any] = response.json()
        return lease

    async def _fetch_input(self, lease: dict[str, Any]) -> dict[str, Any]:
        source = lease.get("input") or {}
        if "inline" in source:
            return validate_snapshot(source["inline"])
        url = source.get("url")
        if not url:
            raise InputError("INPUT_MISSING", "the lease carries no input")
        response = await self.input_http.get(url)
        if response.status_code == 404:
            raise InputError("INPUT_MISSING", "the input snapshot does not exist")
        response.raise_for_status()  # anything else (expired link, storage hiccup): retryable
        try:
            return validate_snapshot(response.json())
        except json.JSONDecodeError as exc:
            raise InputError("INPUT_INVALID", "input is not valid JSON") from exc

    async def _keep_alive(self, lease: dict[str, Any], lost: asyncio.Event) -> None:
        """Heartbeat whenever half of the lease's remaining time has passed."""
        until = datetime.fromisoformat(lease["leaseUntil"])
        body = {"runId": lease["runId"], "leaseToken": lease["leaseToken"]}
        while True:
            remaining = (until - datetime.now(UTC)).total_seconds()
            await asyncio.sleep(max(0.05, remaining / 2))
            try:
                response = await self.http.post("/work/heartbeat", json=body)
            except httpx.TransportError:
                continue  # try again at the next half-interval; the lease may still hold
            if response.status_code == 200:
                until = datetime.fromisoformat(response.json()["leaseUntil"])
            elif response.status_code < 500:
                log.info(
                    "run %s: heartbeat refused (HTTP %s); result will be discarded",
                    lease["runId"],
                    response.status_code,
                )
                lost.set()
                return

    async def _finish(self, path: str, body: dict[str, Any]) -> bool:
        response = await self._post(path, body)
        if response.status_code == 200:
            return True
        # 409/410: superseded, lease expired or already finished; nothing to do but move on.
        log.info("run %s: %s refused (HTTP %s)", body["runId"], path, response.status_code)
        self.stats.discarded += 1
        return False

    async def _fail(self, lease: dict[str, Any], code: str, message: str, *, retryable: bool) -> None:
        body = {
            "runId": lease["runId"],
            "leaseToken": lease["leaseToken"],
            "errorCode": code,
            "errorMessage": message[:2000],
            "retryable": retryable,
        }
        if await self._finish("/work/fail", body):
            self.stats.failed += 1

    async def process(self, lease: dict[str, Any]) -> None:
        run_id = lease["runId"]
        lost = asyncio.Event()
        keeper = asyncio.create_task(self._keep_alive(lease, lost))
        try:
            try:
                snapshot = await self._fetch_input(lease)
                result = await asyncio.to_thread(self.compute, snapshot)
            except InputError as err:
                log.info("run %s: bad input (%s)", run_id, err.code)
                await self._fail(lease, err.code, err.message, retryable=False)
                return
            except httpx.HTTPError as exc:
                await self._fail(lease, "INPUT_UNAVAILABLE", type(exc).__name__, retryable=True)
                return
            except Exception as exc:
                # Exception text may quote the input; only its type leaves the worker.
                log.exception("run %s: enricher failed", run_id)
                await self._fail(lease, "ENRICHER_ERROR", type(exc).__name__, retryable=True)
                return
        finally:
            keeper.cancel()
        if lost.is_set():
            self.stats.discarded += 1
            return
        body = {"runId": run_id, "leaseToken": lease["leaseToken"], "score": result.score, "summary": result.summary}
        if await self._finish("/work/complete", body):
            self.stats.completed += 1
            log.info("run %s: completed (score %.1f)", run_id, result.score)

    async def _lease_or_stop(self) -> dict[str, Any] | None:
        """A lease, or None on 204 or ``stop`` (which cancels the long-poll at once)."""
        poll = asyncio.create_task(self._lease())
        stopper = asyncio.create_task(self.stop.wait())
        try:
            await asyncio.wait({poll, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if not poll.done():
            # A lease granted in this instant is not lost: it expires and the run is re-queued.
            poll.cancel()
            return None
        return poll.result()

    async def run(self, *, once: bool = False) -> int:
        """Work until ``stop`` (or, with ``once``, until one run has been processed)."""
        try:
            while not self.stop.is_set():
                try:
                    lease = await self._lease_or_stop()
                except GatewayUnavailable:
                    break
                if lease is None:
                    continue
                try:
                    await self.process(lease)
                except GatewayUnavailable:
                    break
                if once:
                    break
        finally:
            await self.aclose()
        return 0

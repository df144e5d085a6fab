"""Request metrics for every HTTP process (``request_count``, ``request_latency_ms``)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from vitae.telemetry import SystemMetrics


def add_request_metrics(app: FastAPI, metrics: SystemMetrics) -> None:
    @app.middleware("http")
    async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        status_code = 500
        try:
            response = await call_next(request)
            status_code = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            # The route template, not the path: ids would explode metric cardinality.
            template = getattr(route, "path", "unmatched")
            metrics.request(template, request.method, status_code, (time.perf_counter() - started) * 1000)

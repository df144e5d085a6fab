"""Request metrics for every HTTP process (``request_count``, ``request_latency_ms``)."""

from __future__ import annotations

import time

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vitae.telemetry import SystemMetrics


class RequestMetrics:
    """Times each HTTP request and counts it by route template, method and status.

    A plain ASGI middleware on purpose: ``@app.middleware("http")`` wraps every call in
    Starlette's ``BaseHTTPMiddleware`` (a task group, memory streams and a second Request
    object per request), a noticeable share of the CPU of calls that do little else, such as
    the worker gateway's (bench.enrichment_gateway). This one only watches the response start.
    """

    def __init__(self, app: ASGIApp, metrics: SystemMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            # The route template (the router stores the matched route in the shared scope),
            # not the path: ids would explode metric cardinality.
            template = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.request(template, scope["method"], status_code, (time.perf_counter() - started) * 1000)


def add_request_metrics(app: FastAPI, metrics: SystemMetrics) -> None:
    app.add_middleware(RequestMetrics, metrics=metrics)

"""Liveness and Prometheus metrics, mounted by every Vitae HTTP process."""

from __future__ import annotations

from fastapi import APIRouter, Response

from vitae.telemetry import prometheus_payload

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics() -> Response:
    body, content_type = prometheus_payload()
    return Response(body, media_type=content_type)

"""Request metrics of every HTTP app (api.middleware): route templates, final status codes."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from api.middleware import RequestMetrics

pytestmark = pytest.mark.asyncio


async def test_request_metrics_use_the_route_template_and_final_status() -> None:
    seen: list[tuple[str, str, int]] = []

    class Recorder:
        def request(self, route: str, method: str, status: int, latency_ms: float) -> None:
            seen.append((route, method, status))

    app = FastAPI()
    app.add_middleware(RequestMetrics, metrics=Recorder())

    @app.post("/work/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        if item_id == "gone":
            raise HTTPException(410)
        return {"id": item_id}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://gw.test") as client:
        assert (await client.post("/work/items/a1")).status_code == 200
        assert (await client.post("/work/items/gone")).status_code == 410
        assert (await client.post("/elsewhere")).status_code == 404
    assert seen == [
        ("/work/items/{item_id}", "POST", 200),
        ("/work/items/{item_id}", "POST", 410),
        ("unmatched", "POST", 404),
    ]

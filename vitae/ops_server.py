"""The small HTTP side-server of non-HTTP processes (worker, event emulator).

It serves ``/healthz`` for the supervisor and ``/metrics`` for Prometheus, on the same event
loop as the process's real work.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from api.routes import ops


def ops_server(port: int, title: str) -> uvicorn.Server:
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(ops.router)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    return _SideServer(config)


class _SideServer(uvicorn.Server):
    # The process owns signal handling (it must stop its worker first); uvicorn would
    # otherwise swap in its own handlers and re-raise the signal after serving.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

"""Dependencies shared by the routes (``Annotated`` aliases, as in full-stack-fastapi-template).

The long-lived clients are created once in the app's lifespan and kept in ``app.state``;
routes receive them through these aliases, so tests can swap any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import httpx
from fastapi import Depends, Header, HTTPException, Request, status
from temporalio.client import Client

from vitae.settings import Settings
from vitae.stores.blob import BlobStore
from vitae.stores.cosmos import ResultStore
from vitae.stores.job_events import JobFinishedListener
from vitae.stores.ledger import Ledger
from vitae.telemetry import Telemetry


@dataclass
class ApiServices:
    settings: Settings
    ledger: Ledger
    blobs: BlobStore
    results: ResultStore
    temporal: Client
    telemetry: Telemetry
    job_events: JobFinishedListener
    # One keep-alive client for local BlobCreated deliveries to the bridge: a client per
    # upload built a fresh TLS context each time, which was most of the API's CPU.
    event_http: httpx.AsyncClient


def _services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


Services = Annotated[ApiServices, Depends(_services)]


async def _tenant(
    services: Services,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> str:
    key = x_api_key
    if key is None and authorization and authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()
    tenant = await services.ledger.authenticate(key) if key else None
    if tenant is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return tenant


TenantId = Annotated[str, Depends(_tenant)]

"""Dependencies of the gateway's routes: its services in ``app.state`` and worker auth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from vitae.enrichment_core import EnrichmentCore
from vitae.stores.worker_keys import WorkerIdentity


@dataclass
class GatewayServices:
    core: EnrichmentCore
    # Longest a lease request may wait for work; workers ask again after an empty answer.
    max_wait_seconds: float = 20.0
    # How often a waiting lease request looks for newly queued runs.
    poll_seconds: float = 0.5
    # Largest input snapshot returned inline; bigger ones are only offered as a SAS URL.
    inline_input_max_bytes: int = 1024 * 1024


def _services(request: Request) -> GatewayServices:
    services: GatewayServices = request.app.state.gateway
    return services


Services = Annotated[GatewayServices, Depends(_services)]


async def _worker(
    services: Services,
    authorization: Annotated[str | None, Header()] = None,
    x_worker_key: Annotated[str | None, Header()] = None,
) -> WorkerIdentity:
    key = x_worker_key
    if key is None and authorization and authorization.lower().startswith("bearer "):
        key = authorization[7:].strip()
    identity = await services.core.worker_keys.authenticate(key) if key else None
    if identity is None or identity.role != "worker":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, detail="missing or invalid worker key", headers={"WWW-Authenticate": "Bearer"}
        )
    return identity


Worker = Annotated[WorkerIdentity, Depends(_worker)]

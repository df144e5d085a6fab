"""Dependencies of the gateway's routes: its services in ``app.state`` and worker auth."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status

from vitae.enrichment_core import EnrichmentCore
from vitae.stores.worker_keys import WorkerIdentity


class AuthCache:
    """Recently authenticated worker keys, by the key's SHA-256, for ``ttl`` seconds.

    Every gateway call authenticates; a worker makes several calls per run, and the lookup is
    a database round trip. Only successes are cached (a wrong key is looked up each time),
    so a revoked key keeps working for at most ``ttl`` seconds.
    """

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[bytes, tuple[float, WorkerIdentity]] = {}

    async def authenticate(self, core: EnrichmentCore, key: str) -> WorkerIdentity | None:
        if self.ttl <= 0:
            return await core.worker_keys.authenticate(key)
        digest = hashlib.sha256(key.encode()).digest()
        now = time.monotonic()
        cached = self._entries.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        identity = await core.worker_keys.authenticate(key)
        if identity is not None:
            if len(self._entries) >= self.max_entries:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
            self._entries[digest] = (now + self.ttl, identity)
        else:
            self._entries.pop(digest, None)
        return identity


@dataclass
class GatewayServices:
    core: EnrichmentCore
    # Longest a lease request may wait for work; workers ask again after an empty answer.
    max_wait_seconds: float = 20.0
    # How often a waiting lease request looks for newly queued runs.
    poll_seconds: float = 0.5
    # Largest input snapshot returned inline; bigger ones are only offered as a SAS URL.
    inline_input_max_bytes: int = 1024 * 1024
    # How long a successful key lookup is reused (the most a revocation takes to apply).
    auth_cache_seconds: float = 10.0
    auth_cache: AuthCache = field(init=False)

    def __post_init__(self) -> None:
        self.auth_cache = AuthCache(self.auth_cache_seconds)


async def _services(request: Request) -> GatewayServices:
    # Async on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, a thread
    # hop (and GIL hand-off) on every worker call for what is an attribute read.
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
    identity = await services.auth_cache.authenticate(services.core, key) if key else None
    if identity is None or identity.role != "worker":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, detail="missing or invalid worker key", headers={"WWW-Authenticate": "Bearer"}
        )
    return identity


Worker = Annotated[WorkerIdentity, Depends(_worker)]

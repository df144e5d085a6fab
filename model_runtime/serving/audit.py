"""Where the scoring endpoint's control plane records each change (append-only).

Every accepted ``deploy`` / ``traffic`` change is written *before* it takes effect; when the
audit store cannot be written, the change is refused. The store is ``model_audit`` in
PostgreSQL (``vitae.stores.model_audit``); :class:`MemoryAudit` is for tests and demos.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Protocol

from model_runtime.audit_event import ModelEvent


class AuditSink(Protocol):
    async def record(self, event: ModelEvent) -> int: ...

    async def aclose(self) -> None: ...


class PostgresAudit:
    """``vitae.stores.model_audit.record_model_event`` on a small pool opened on first use."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._pool: Any = None
        self._lock = asyncio.Lock()

    async def _get_pool(self) -> Any:
        async with self._lock:
            if self._pool is None:
                import asyncpg

                self._pool = await asyncpg.create_pool(self._dsn, min_size=0, max_size=2, command_timeout=10)
            return self._pool

    async def record(self, event: ModelEvent) -> int:
        from vitae.stores.model_audit import record_model_event

        return await record_model_event(await self._get_pool(), event)

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


@dataclass
class MemoryAudit:
    events: list[dict[str, Any]] = field(default_factory=list)

    async def record(self, event: ModelEvent) -> int:
        self.events.append({"id": len(self.events) + 1, **event.to_json()})
        return len(self.events)

    async def aclose(self) -> None:
        return None

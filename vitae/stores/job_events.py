"""Job-finished notifications over PostgreSQL LISTEN/NOTIFY, for long-polling clients.

``Ledger.finalize_job`` sends ``NOTIFY vitae_job_finished, '<job_id>'`` in the same statement
that records the outcome, so a notification means the row is already committed. The API
keeps one listening connection per process and wakes the requests waiting on that job
(``GET /v1/jobs/{id}?wait=20``), instead of clients polling the ledger every few
milliseconds (which cost more API CPU than the pipeline itself in the benchmark).

Notifications are a wake-up, never the source of truth: the waiter re-reads the ledger
after waking or timing out, so a lost notification (listener reconnecting) only costs the
wait timeout, never a wrong answer. Works on Azure Database for PostgreSQL Flexible Server
when connecting directly (not through PgBouncer in transaction mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

CHANNEL = "vitae_job_finished"


class JobFinishedListener:
    def __init__(self, dsn: str, *, reconnect_seconds: float = 2.0) -> None:
        self._dsn = dsn
        self._reconnect_seconds = reconnect_seconds
        self._conn: asyncpg.Connection | None = None
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}
        self._reconnect_task: asyncio.Task[None] | None = None
        self._closed = False

    @classmethod
    async def start(cls, dsn: str) -> JobFinishedListener:
        listener = cls(dsn)
        try:
            await listener._connect()
        except (OSError, asyncpg.PostgresError) as exc:
            # The API still answers (waits fall back to their timeout) while we retry.
            log.warning("job listener not connected yet: %s", type(exc).__name__)
            listener._schedule_reconnect()
        return listener

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.is_closed()

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        await conn.add_listener(CHANNEL, self._on_notify)
        conn.add_termination_listener(self._on_terminated)
        self._conn = conn

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, job_id: str) -> None:
        for future in self._waiters.pop(job_id, ()):
            if not future.done():
                future.set_result(None)

    def _on_terminated(self, _conn: Any) -> None:
        self._conn = None
        if not self._closed:
            log.warning("job listener connection lost; reconnecting")
            self._wake_all()  # they re-read the ledger; nothing is missed
            self._schedule_reconnect()

    def _schedule_reconnect(self) -> None:
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        while not self._closed and not self.connected:
            await asyncio.sleep(self._reconnect_seconds)
            try:
                await self._connect()
                log.info("job listener reconnected")
            except (OSError, asyncpg.PostgresError):
                continue

    def _wake_all(self) -> None:
        waiters, self._waiters = self._waiters, {}
        for futures in waiters.values():
            for future in futures:
                if not future.done():
                    future.set_result(None)

    @contextlib.asynccontextmanager
    async def watch(self, job_id: str) -> AsyncIterator[asyncio.Future[None]]:
        """A future resolved when ``job_id`` finishes (or the listener reconnects).

        Register *before* re-reading the job, so a finish between the read and the wait
        cannot be missed.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(job_id, set()).add(future)
        try:
            yield future
        finally:
            futures = self._waiters.get(job_id)
            if futures is not None:
                futures.discard(future)
                if not futures:
                    del self._waiters[job_id]

    async def close(self) -> None:
        self._closed = True
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect_task
        self._wake_all()
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=2)
            self._conn = None

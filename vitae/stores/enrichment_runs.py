"""The ``enrichment_runs`` read model: what the run workflows last recorded about each run.

Temporal is the source of truth (leases and completions are arbitrated by the run workflow's
updates); this table serves listings, subject history and the gateway's search for queued
work. ``record`` applies a snapshot only if it is newer than the stored one, so activity
retries and late deliveries are harmless.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import asyncpg

from vitae.enrichment_contracts import RunSnapshot, RunStatus

_COLUMNS = [f.name for f in fields(RunSnapshot)]
_INSERT_COLUMNS = ", ".join(_COLUMNS)
_PLACEHOLDERS = ", ".join(f"${i}" for i in range(1, len(_COLUMNS) + 1))
_UPDATES = ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS if c != "run_id")
_SELECT = f"SELECT {_INSERT_COLUMNS} FROM enrichment_runs"


@dataclass(frozen=True)
class CurrentStatus:
    """What the gateway checks before forwarding a worker's call (``get_current_status``)."""

    enricher_type: str
    status: RunStatus
    # No newer request exists for the run's subject.
    is_latest: bool


@dataclass(frozen=True)
class RunPage:
    runs: list[RunSnapshot]
    # Pass back as ``cursor`` for the next (older) page; None on the last page.
    next_cursor: str | None


def _row_to_snapshot(row: asyncpg.Record) -> RunSnapshot:
    values: dict[str, Any] = dict(row)
    values["status"] = RunStatus(values["status"])
    return RunSnapshot(**values)


def _encode_cursor(run: RunSnapshot) -> str:
    raw = json.dumps([run.requested_at.isoformat(), run.run_id]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        requested_at, run_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(requested_at), str(run_id)
    except (ValueError, TypeError) as err:
        raise ValueError("invalid history cursor") from err


async def keep_session(connection: asyncpg.Connection) -> None:
    """``reset`` for pools whose users never change session state (no LISTEN, SET, advisory
    locks or open cursors), as for the enrichment stores.

    asyncpg's default reset sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL`` on every release: a second round trip for each one-statement call, i.e. for
    every read-model write and gateway check. A transaction left open is still rolled back
    (the pool does that before calling this).
    """


class EnrichmentRuns:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, dsn: str, *, max_size: int = 10) -> EnrichmentRuns:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, reset=keep_session)
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    async def record(self, snapshot: RunSnapshot) -> bool:
        """Store the snapshot unless a newer (or the same) state version is already stored.

        True when the row changed. One statement, so concurrent writers need no lock: the
        conflict check and the version comparison happen atomically on the row.
        """
        values = [getattr(snapshot, c) for c in _COLUMNS]
        values[_COLUMNS.index("status")] = snapshot.status.value
        result = await self._pool.execute(
            f"""INSERT INTO enrichment_runs ({_INSERT_COLUMNS}) VALUES ({_PLACEHOLDERS})
                ON CONFLICT (run_id) DO UPDATE SET {_UPDATES}, updated_at = now()
                WHERE enrichment_runs.state_version < EXCLUDED.state_version""",
            *values,
        )
        return bool(result.endswith(" 1"))

    async def get(self, run_id: str) -> RunSnapshot | None:
        row = await self._pool.fetchrow(f"{_SELECT} WHERE run_id = $1", run_id)
        return _row_to_snapshot(row) if row else None

    async def history(self, enricher_type: str, subject: str, *, limit: int = 20, cursor: str | None = None) -> RunPage:
        """A subject's runs, newest request first, a page at a time (keyset pagination)."""
        if cursor is None:
            rows = await self._pool.fetch(
                f"""{_SELECT} WHERE enricher_type = $1 AND subject_key = $2
                    ORDER BY requested_at DESC, run_id DESC LIMIT $3""",
                enricher_type,
                subject,
                limit + 1,
            )
        else:
            before_at, before_id = _decode_cursor(cursor)
            rows = await self._pool.fetch(
                f"""{_SELECT} WHERE enricher_type = $1 AND subject_key = $2
                      AND (requested_at, run_id) < ($3, $4)
                    ORDER BY requested_at DESC, run_id DESC LIMIT $5""",
                enricher_type,
                subject,
                before_at,
                before_id,
                limit + 1,
            )
        runs = [_row_to_snapshot(r) for r in rows[:limit]]
        # One extra row fetched tells whether an older page exists without a COUNT.
        return RunPage(runs=runs, next_cursor=_encode_cursor(runs[-1]) if len(rows) > limit else None)

    async def get_current_status(self, run_id: str) -> CurrentStatus | None:
        """The run's type and status and whether it is still its subject's latest run (no newer
        request), in one statement: what the gateway checks before forwarding a worker's call.
        Only those columns: it runs on every heartbeat, completion and failure."""
        row = await self._pool.fetchrow(
            """SELECT r.enricher_type, r.status, NOT EXISTS (
                       SELECT 1 FROM enrichment_runs n
                        WHERE n.enricher_type = r.enricher_type AND n.subject_key = r.subject_key
                          AND (n.requested_at, n.run_id) > (r.requested_at, r.run_id)) AS is_latest
                  FROM enrichment_runs r WHERE r.run_id = $1""",
            run_id,
        )
        if row is None:
            return None
        return CurrentStatus(row["enricher_type"], RunStatus(row["status"]), bool(row["is_latest"]))

    async def next_leasable(
        self, enricher_types: Sequence[str], *, limit: int = 10, exclude: Sequence[str] = ()
    ) -> list[str]:
        """Ids of queued runs of these types that are their subject's latest, longest-waiting
        first, leaving out ``exclude`` (runs this process is already leasing). Candidates only:
        the run workflow's ``lease`` update decides (and returns what the worker needs), so
        only ids are read."""
        rows = await self._pool.fetch(
            """SELECT r.run_id FROM enrichment_runs r
                WHERE r.status = 'queued' AND r.enricher_type = ANY($1::text[])
                  AND r.run_id <> ALL($3::text[])
                  AND NOT EXISTS (
                      SELECT 1 FROM enrichment_runs n
                       WHERE n.enricher_type = r.enricher_type AND n.subject_key = r.subject_key
                         AND (n.requested_at, n.run_id) > (r.requested_at, r.run_id))
                ORDER BY r.queued_at, r.run_id LIMIT $2""",
            list(enricher_types),
            limit,
            list(exclude),
        )
        return [r["run_id"] for r in rows]

    async def next_queued(self, enricher_types: Sequence[str], limit: int = 10) -> list[RunSnapshot]:
        """Queued runs for these enricher types, longest-waiting first.

        No row locks: two gateways may see the same run, and the run workflow's ``lease``
        update lets exactly one of them have it. A run just leased may still show as queued
        for a moment; its lease attempt is then rejected and the caller moves on.
        """
        rows = await self._pool.fetch(
            f"""{_SELECT} WHERE status = 'queued' AND enricher_type = ANY($1::text[])
                ORDER BY queued_at, run_id LIMIT $2""",
            list(enricher_types),
            limit,
        )
        return [_row_to_snapshot(r) for r in rows]

    # --- maintenance (workflows/enrichment_maintenance.py) ------------------------------

    async def find_stale(
        self,
        *,
        requested_before: datetime,
        stuck_before: datetime,
        enricher_types: Sequence[str] | None = None,
        after_run_id: str | None = None,
        limit: int = 200,
    ) -> list[str]:
        """Ids of unfinished runs past policy, in run id order after ``after_run_id``.

        Stale: requested before ``requested_before`` (older than the longest a run may stay
        unfinished), or stuck: Pending (never queued by its run workflow) since before
        ``stuck_before``, or Leased with a lease that ended before ``stuck_before`` (its timer
        should have requeued or expired it long ago).
        """
        rows = await self._pool.fetch(
            """SELECT run_id FROM enrichment_runs
                WHERE status IN ('pending', 'queued', 'leased')
                  AND ($3::text[] IS NULL OR enricher_type = ANY($3::text[]))
                  AND ($4::text IS NULL OR run_id > $4::text)
                  AND (requested_at < $1
                       OR (status = 'pending' AND requested_at < $2)
                       OR (status = 'leased' AND lease_until < $2))
                ORDER BY run_id LIMIT $5""",
            requested_before,
            stuck_before,
            list(enricher_types) if enricher_types is not None else None,
            after_run_id,
            limit,
        )
        return [r["run_id"] for r in rows]

    async def get_many(self, run_ids: Sequence[str]) -> dict[str, RunSnapshot]:
        rows = await self._pool.fetch(f"{_SELECT} WHERE run_id = ANY($1::text[])", list(run_ids))
        return {r["run_id"]: _row_to_snapshot(r) for r in rows}

    async def mark_inputs_deleted(self, run_ids: Sequence[str]) -> int:
        """Record that these runs' input snapshots were deleted; repeats change nothing."""
        result = await self._pool.execute(
            """UPDATE enrichment_runs SET input_deleted_at = now()
                WHERE run_id = ANY($1::text[]) AND input_deleted_at IS NULL""",
            list(run_ids),
        )
        return int(result.split()[-1])

    async def input_deleted_at(self, run_id: str) -> datetime | None:
        value = await self._pool.fetchval("SELECT input_deleted_at FROM enrichment_runs WHERE run_id = $1", run_id)
        return value if isinstance(value, datetime) else None

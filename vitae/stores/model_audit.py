"""The model audit trail and lineage copy: append-only rows in PostgreSQL.

``model_audit`` (migration ``0004_model_audit.sql``) gets one row per promotion, refusal,
rollback, deployment, traffic change and bootstrap: who, when, why. ``model_lineage`` keeps each
registered version's lineage as recorded when Vitae registered it. Both tables refuse UPDATE,
DELETE and TRUNCATE with a trigger, so they are append-only in the database itself, not just by
convention here.

Writers: ``vitae model promote|rollback`` and the production bootstrap (``model_runtime.promotion``),
and the scoring server's ``deploy``/``traffic`` commands: each a
:class:`~model_runtime.audit_event.ModelEvent` written by :func:`record_model_event`.

``actor``: callers pass it explicitly; :func:`default_actor` gives the configured
``VITAE_MODEL_AUDIT_ACTOR`` or, failing that, the OS user running the command.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Mapping
from typing import Any

import asyncpg

from model_runtime.audit_event import ModelEvent


def default_actor(configured: str | None = None) -> str:
    """Who is acting when no ``--actor`` was given: ``configured`` (settings), else the OS user."""
    if configured is None:
        try:
            from vitae.settings import get_settings

            configured = get_settings().model_audit_actor
        except Exception:  # settings invalid here: the OS user still identifies the caller
            configured = None
    if configured and configured.strip():
        return configured.strip()
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry and no LOGNAME/USER (some containers)
        return f"uid:{os.getuid()}"


async def record_model_event(conn: asyncpg.Connection | asyncpg.Pool, event: ModelEvent) -> int:
    """Append one audit row; returns its id.

    ``conn`` may be a pool, or a connection inside the caller's transaction (promotion writes
    the row in the same transaction as its lock).
    """
    row_id = await conn.fetchval(
        """INSERT INTO model_audit (actor, action, model_name, version, from_version, target, reason, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
           RETURNING id""",
        event.actor,
        event.action,
        event.model_name,
        event.version,
        event.from_version,
        event.target,
        event.reason,
        json.dumps(event.details, sort_keys=True, default=str),
    )
    return int(row_id)


def _event(row: Mapping[str, Any]) -> dict[str, Any]:
    event = dict(row)
    raw = event.get("details")
    event["details"] = json.loads(raw) if isinstance(raw, str) else (raw or {})
    return event


async def list_model_events(
    pool: asyncpg.Pool | asyncpg.Connection, *, model_name: str, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest ``limit`` events of one registered model, newest first."""
    rows = await pool.fetch(
        """SELECT id, at, actor, action, model_name, version, from_version, target, reason, details
           FROM model_audit WHERE model_name = $1
           ORDER BY id DESC LIMIT $2""",
        model_name,
        limit,
    )
    return [_event(r) for r in rows]


async def record_model_lineage(
    conn: asyncpg.Connection | asyncpg.Pool, *, model_name: str, version: str, lineage: Mapping[str, str]
) -> bool:
    """Record a version's lineage once; ``False`` when it was already recorded (never overwritten)."""
    inserted = await conn.fetchval(
        """INSERT INTO model_lineage (model_name, version, lineage) VALUES ($1, $2, $3::jsonb)
           ON CONFLICT (model_name, version) DO NOTHING
           RETURNING true""",
        model_name,
        version,
        json.dumps(dict(lineage), sort_keys=True),
    )
    return bool(inserted)


async def get_model_lineage(
    conn: asyncpg.Connection | asyncpg.Pool, *, model_name: str, version: str
) -> dict[str, str] | None:
    raw = await conn.fetchval(
        "SELECT lineage FROM model_lineage WHERE model_name = $1 AND version = $2", model_name, version
    )
    if raw is None:
        return None
    data = json.loads(raw) if isinstance(raw, str) else raw
    return {str(k): str(v) for k, v in data.items()}

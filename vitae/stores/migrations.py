"""Ordered SQL migrations (``vitae/migrations/NNNN_name.sql``), applied once each.

Applied files are recorded with a checksum; editing an applied migration is refused rather
than silently diverging between environments. A session advisory lock makes concurrent
starters (several workers, the API, ``vitae up``) safe.
"""

from __future__ import annotations

import hashlib
from importlib import resources

import asyncpg

_LOCK_KEY = 0x5E7A_E001  # arbitrary, fixed: identifies "vitae migrations" in pg_locks


def _migration_files() -> list[tuple[str, str]]:
    folder = resources.files("vitae") / "migrations"
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [(p.name.removesuffix(".sql"), p.read_text(encoding="utf-8")) for p in files]


async def apply_migrations(dsn: str) -> list[str]:
    """Apply pending migrations; returns the versions applied by this call."""
    conn = await asyncpg.connect(dsn)
    applied: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version    text PRIMARY KEY,
                   checksum   text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {
            r["version"]: r["checksum"] for r in await conn.fetch("SELECT version, checksum FROM schema_migrations")
        }
        for version, sql in _migration_files():
            checksum = hashlib.sha256(sql.encode()).hexdigest()
            if version in done:
                if done[version] != checksum:
                    raise RuntimeError(f"migration {version} changed after it was applied")
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)", version, checksum
                )
            applied.append(version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
        await conn.close()
    return applied

"""CV versions (the rich original and its plain text live in blob storage; rows say where)
and the ownership of enrichment subjects. Every read takes the tenant id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True)
class CvVersion:
    cv_version_id: str
    tenant_id: str
    user_id: str
    format: str
    rich_sha256: str
    rich_blob: str
    text_blob: str
    text_sha256: str
    text_chars: int
    created_at: datetime


class CvVersions:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record(self, cv: CvVersion) -> tuple[CvVersion, bool]:
        """Insert the version, or return the one already stored for the same content.

        Concurrent ingestions of the same CV race on the unique (tenant, user, sha) key; the
        loser gets the winner's row, so both callers answer with one version id. The flag is
        True when this call inserted the row.
        """
        row = await self._pool.fetchrow(
            """WITH ins AS (
                   INSERT INTO cv_versions (cv_version_id, tenant_id, user_id, format, rich_sha256, rich_blob,
                                            text_blob, text_sha256, text_chars, created_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                   ON CONFLICT DO NOTHING RETURNING *)
               SELECT *, true AS inserted FROM ins
               UNION ALL
               SELECT *, false FROM cv_versions WHERE tenant_id = $2 AND user_id = $3 AND rich_sha256 = $5
               LIMIT 1""",
            cv.cv_version_id,
            cv.tenant_id,
            cv.user_id,
            cv.format,
            cv.rich_sha256,
            cv.rich_blob,
            cv.text_blob,
            cv.text_sha256,
            cv.text_chars,
            cv.created_at,
        )
        if row is None:
            # The other insert committed after this statement's snapshot: it is visible now.
            return await self.find(cv.tenant_id, cv.user_id, cv.rich_sha256) or cv, False
        values = dict(row)
        inserted = bool(values.pop("inserted"))
        return CvVersion(**values), inserted

    async def get(self, tenant_id: str, cv_version_id: str) -> CvVersion | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM cv_versions WHERE tenant_id = $1 AND cv_version_id = $2", tenant_id, cv_version_id
        )
        return CvVersion(**dict(row)) if row else None

    async def find(self, tenant_id: str, user_id: str, rich_sha256: str) -> CvVersion | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM cv_versions WHERE tenant_id = $1 AND user_id = $2 AND rich_sha256 = $3",
            tenant_id,
            user_id,
            rich_sha256,
        )
        return CvVersion(**dict(row)) if row else None


class EnrichmentSubjects:
    """Which tenant a (job, user) subject belongs to: the first one that requested a run."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim(self, tenant_id: str, job_id: str, user_id: str) -> bool:
        """True when the subject is (now) this tenant's; False when another tenant has it."""
        owner = await self._pool.fetchval(
            """WITH ins AS (
                   INSERT INTO enrichment_subjects (job_id, user_id, tenant_id) VALUES ($1, $2, $3)
                   ON CONFLICT DO NOTHING RETURNING tenant_id)
               SELECT tenant_id FROM ins
               UNION ALL
               SELECT tenant_id FROM enrichment_subjects WHERE job_id = $1 AND user_id = $2
               LIMIT 1""",
            job_id,
            user_id,
            tenant_id,
        )
        if owner is None:
            # A concurrent claim committed after this statement's snapshot: it is visible now.
            return await self.owned(tenant_id, job_id, user_id)
        return bool(owner == tenant_id)

    async def owned(self, tenant_id: str, job_id: str, user_id: str) -> bool:
        owner = await self._pool.fetchval(
            "SELECT tenant_id FROM enrichment_subjects WHERE job_id = $1 AND user_id = $2", job_id, user_id
        )
        return bool(owner == tenant_id)

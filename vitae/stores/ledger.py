"""The PostgreSQL ledger: tenants and API keys, resume files, inference jobs.

Every read takes the tenant id, so a tenant can never see another tenant's rows; unknown
and foreign ids look the same (``None``) to callers, which answer 404 for both.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from vitae.contracts import FinalizeJobInput, JobStatus, OpenJobInput, OpenJobResult
from vitae.stores.job_events import CHANNEL as JOB_FINISHED_CHANNEL

_KEY_PREFIX = "vk"


@dataclass(frozen=True)
class IssuedKey:
    tenant_id: str
    key_id: str
    # Shown once to whoever created it; only its hash is stored.
    secret: str


def _hash_key(secret: str) -> bytes:
    # API keys are 256-bit random tokens, so a plain SHA-256 is enough (no password
    # stretching needed) and keeps authentication on the hot path cheap.
    return hashlib.sha256(secret.encode()).digest()


class Ledger:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def connect(cls, dsn: str, *, max_size: int = 10) -> Ledger:
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size)
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    # --- tenants and keys ---------------------------------------------------------

    async def ensure_tenant(self, tenant_id: str, display_name: str | None = None) -> None:
        await self._pool.execute(
            "INSERT INTO tenants (tenant_id, display_name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            tenant_id,
            display_name or tenant_id,
        )

    async def issue_api_key(self, tenant_id: str, label: str | None = None) -> IssuedKey:
        key_id = secrets.token_hex(6)
        secret = f"{_KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        await self._pool.execute(
            "INSERT INTO api_keys (key_id, tenant_id, key_hash, label) VALUES ($1, $2, $3, $4)",
            key_id,
            tenant_id,
            _hash_key(secret),
            label,
        )
        return IssuedKey(tenant_id=tenant_id, key_id=key_id, secret=secret)

    async def authenticate(self, secret: str) -> str | None:
        """Tenant id for a valid, unrevoked key; ``None`` otherwise."""
        parts = secret.split("_", 2)
        if len(parts) != 3 or parts[0] != _KEY_PREFIX:
            return None
        row = await self._pool.fetchrow(
            "SELECT tenant_id, key_hash FROM api_keys WHERE key_id = $1 AND revoked_at IS NULL", parts[1]
        )
        if row is None or not hmac.compare_digest(bytes(row["key_hash"]), _hash_key(secret)):
            return None
        return str(row["tenant_id"])

    # --- files --------------------------------------------------------------------

    async def record_file(
        self,
        *,
        file_id: str,
        tenant_id: str,
        container: str,
        key: str,
        blob_url: str,
        sha256: str | None,
        size_bytes: int | None,
        original_name: str | None,
        content_type: str | None,
        source: str,
    ) -> None:
        await self._pool.execute(
            """INSERT INTO resume_files (file_id, tenant_id, storage_container, storage_key, blob_url,
                                         sha256, size_bytes, original_name, content_type, source)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               ON CONFLICT (tenant_id, file_id) DO UPDATE
                  SET sha256 = COALESCE(EXCLUDED.sha256, resume_files.sha256),
                      size_bytes = COALESCE(EXCLUDED.size_bytes, resume_files.size_bytes),
                      original_name = COALESCE(EXCLUDED.original_name, resume_files.original_name),
                      content_type = COALESCE(EXCLUDED.content_type, resume_files.content_type),
                      updated_at = now()""",
            file_id,
            tenant_id,
            container,
            key,
            blob_url,
            sha256,
            size_bytes,
            original_name,
            content_type,
            source,
        )

    async def get_file(self, tenant_id: str, file_id: str) -> dict[str, Any] | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM resume_files WHERE tenant_id = $1 AND file_id = $2", tenant_id, file_id
        )
        return dict(row) if row else None

    # --- jobs ---------------------------------------------------------------------

    async def enqueue_job(
        self,
        *,
        job_id: str,
        file_id: str,
        tenant_id: str,
        workflow_id: str,
        trigger: str,
        blob_url: str,
        etag: str,
        queued_at: datetime,
    ) -> None:
        """Record a job as queued before its workflow runs (so it can be polled at once)."""
        await self._pool.execute(
            """INSERT INTO inference_jobs (job_id, file_id, tenant_id, workflow_id, trigger, blob_url,
                                           blob_etag, status, queued_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', $8)
               ON CONFLICT (job_id) DO NOTHING""",
            job_id,
            file_id,
            tenant_id,
            workflow_id,
            trigger,
            blob_url,
            etag,
            queued_at,
        )

    async def open_job(self, job: OpenJobInput, *, storage_container: str, storage_key: str) -> OpenJobResult:
        """Move a job to running (creating it and its file row if the upload bypassed the API).

        Idempotent: a terminal job stays terminal, so a retried activity or a late duplicate
        workflow can tell the work is already done.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO resume_files (file_id, tenant_id, storage_container, storage_key, blob_url, source)
                   VALUES ($1, $2, $3, $4, $5, 'blob')
                   ON CONFLICT DO NOTHING""",
                job.file_id,
                job.tenant_id,
                storage_container,
                storage_key,
                job.blob_url,
            )
            status = await conn.fetchval(
                """INSERT INTO inference_jobs (job_id, file_id, tenant_id, workflow_id, trigger, blob_url,
                                               blob_etag, status, attempts, queued_at, started_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', 1, $8, now())
                   ON CONFLICT (job_id) DO UPDATE
                      SET status = CASE WHEN inference_jobs.status IN ('succeeded', 'failed')
                                        THEN inference_jobs.status ELSE 'running' END,
                          started_at = COALESCE(inference_jobs.started_at, now()),
                          attempts = inference_jobs.attempts + 1,
                          updated_at = now()
                   RETURNING status""",
                job.job_id,
                job.file_id,
                job.tenant_id,
                job.workflow_id,
                job.trigger,
                job.blob_url,
                job.etag,
                job.queued_at,
            )
        status = JobStatus(status)
        return OpenJobResult(status=status, already_finished=status.terminal)

    async def finalize_job(self, done: FinalizeJobInput) -> bool:
        """Record the outcome once; later calls (activity retries) change nothing.

        The same statement notifies ``vitae_job_finished`` (delivered on commit), which
        wakes API requests long-polling this job (see vitae/stores/job_events.py).
        """
        artifacts = done.artifacts
        rows = await self._pool.fetch(
            """WITH done AS (
                 UPDATE inference_jobs
                    SET status = $2, finished_at = $3,
                        duration_ms = EXTRACT(EPOCH FROM ($3 - queued_at)) * 1000,
                        error_code = $4, error_message = $5, model_name = $6, model_version = $7,
                        page_count = $8, text_length = $9, cosmos_id = $10,
                        result_uri = $11, explanations_uri = $12, model_deployment = $14,
                        updated_at = now()
                  WHERE job_id = $1 AND status NOT IN ('succeeded', 'failed')
              RETURNING job_id)
               SELECT pg_notify($13, job_id) FROM done""",
            done.job_id,
            done.status.value,
            done.finished_at,
            done.error_code,
            done.error_message,
            done.model_name,
            done.model_version,
            done.page_count,
            done.text_length,
            done.cosmos_id,
            artifacts.result_uri if artifacts else None,
            artifacts.explanations_uri if artifacts else None,
            JOB_FINISHED_CHANNEL,
            done.model_deployment,
        )
        return len(rows) == 1

    async def job_finished(self, job_id: str) -> bool:
        """Whether the job's outcome is recorded (succeeded or failed); an unknown job is not."""
        status = await self._pool.fetchval("SELECT status FROM inference_jobs WHERE job_id = $1", job_id)
        return status is not None and JobStatus(status).terminal

    async def get_job(self, tenant_id: str, job_id: str) -> dict[str, Any] | None:
        row = await self._pool.fetchrow(
            "SELECT * FROM inference_jobs WHERE tenant_id = $1 AND job_id = $2", tenant_id, job_id
        )
        return dict(row) if row else None

    async def latest_job_for_file(self, tenant_id: str, file_id: str) -> dict[str, Any] | None:
        row = await self._pool.fetchrow(
            """SELECT * FROM inference_jobs WHERE tenant_id = $1 AND file_id = $2
                ORDER BY queued_at DESC LIMIT 1""",
            tenant_id,
            file_id,
        )
        return dict(row) if row else None

    async def newest_result(self) -> dict[str, Any] | None:
        """The most recently finished successful job with a result artifact, of any tenant."""
        row = await self._pool.fetchrow(
            """SELECT tenant_id, file_id, job_id, result_uri FROM inference_jobs
                WHERE status = 'succeeded' AND result_uri IS NOT NULL
                ORDER BY finished_at DESC LIMIT 1"""
        )
        return dict(row) if row else None

    async def latest_results(self, after: tuple[str, str] | None, limit: int) -> list[dict[str, Any]]:
        """Per file, its newest successful job's result artifact, a page at a time (keyset on
        (tenant_id, file_id), every tenant): what the Cosmos results should hold."""
        tenant, file = after or ("", "")
        rows = await self._pool.fetch(
            """SELECT DISTINCT ON (tenant_id, file_id) tenant_id, file_id, job_id, result_uri
                 FROM inference_jobs
                WHERE status = 'succeeded' AND result_uri IS NOT NULL AND (tenant_id, file_id) > ($1, $2)
                ORDER BY tenant_id, file_id, queued_at DESC
                LIMIT $3""",
            tenant,
            file,
            limit,
        )
        return [dict(r) for r in rows]

    async def jobs_for_file(self, tenant_id: str, file_id: str, limit: int = 20) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(
            """SELECT * FROM inference_jobs WHERE tenant_id = $1 AND file_id = $2
                ORDER BY queued_at DESC LIMIT $3""",
            tenant_id,
            file_id,
            limit,
        )
        return [dict(r) for r in rows]

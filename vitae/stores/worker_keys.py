"""Worker gateway credentials: API keys scoped to enricher types, stored as SHA-256 hashes.

Same scheme as the tenants' keys (``vitae.stores.ledger``): ``wk_<keyId>_<secret>``, the key
id finds the row, the hash is compared in constant time, the secret is shown once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import asyncpg

_KEY_PREFIX = "wk"
Role = Literal["worker", "gateway"]


@dataclass(frozen=True)
class IssuedWorkerKey:
    key_id: str
    name: str
    role: Role
    enricher_types: tuple[str, ...]
    # Shown once to whoever created it; only its hash is stored.
    secret: str


@dataclass(frozen=True)
class WorkerIdentity:
    key_id: str
    name: str
    role: Role
    enricher_types: frozenset[str]


def _hash_key(secret: str) -> bytes:
    # 256-bit random tokens: a plain SHA-256 suffices (no stretching) and stays cheap per request.
    return hashlib.sha256(secret.encode()).digest()


class WorkerKeys:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def issue(self, name: str, enricher_types: Sequence[str], *, role: Role = "worker") -> IssuedWorkerKey:
        types = tuple(dict.fromkeys(t.strip() for t in enricher_types if t.strip()))
        if role == "worker" and not types:
            raise ValueError("a worker key needs at least one enricher type")
        key_id = secrets.token_hex(6)
        secret = f"{_KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        await self._pool.execute(
            "INSERT INTO worker_keys (key_id, name, role, enricher_types, key_hash) VALUES ($1, $2, $3, $4, $5)",
            key_id,
            name,
            role,
            list(types),
            _hash_key(secret),
        )
        return IssuedWorkerKey(key_id=key_id, name=name, role=role, enricher_types=types, secret=secret)

    async def authenticate(self, secret: str) -> WorkerIdentity | None:
        """The identity of a valid, unrevoked key; ``None`` otherwise."""
        parts = secret.split("_", 2)
        if len(parts) != 3 or parts[0] != _KEY_PREFIX:
            return None
        row = await self._pool.fetchrow(
            "SELECT name, role, enricher_types, key_hash FROM worker_keys WHERE key_id = $1 AND revoked_at IS NULL",
            parts[1],
        )
        if row is None or not hmac.compare_digest(bytes(row["key_hash"]), _hash_key(secret)):
            return None
        return WorkerIdentity(
            key_id=parts[1], name=row["name"], role=row["role"], enricher_types=frozenset(row["enricher_types"])
        )

    async def revoke(self, key_id: str) -> bool:
        result = await self._pool.execute(
            "UPDATE worker_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL", key_id
        )
        return bool(result.endswith(" 1"))

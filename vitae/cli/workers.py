"""``vitae worker-key``: credentials for enrichment workers (and the gateway) at the worker gateway."""

from __future__ import annotations

import argparse
import asyncio
import json

import asyncpg

from vitae.settings import get_settings
from vitae.stores.worker_keys import IssuedWorkerKey, WorkerKeys


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = subparsers.add_parser("worker-key", help="manage worker gateway keys")
    sub = keys.add_subparsers(dest="worker_key_command", required=True)
    create = sub.add_parser("create", help="issue a key (printed once; only its hash is stored)")
    create.add_argument("name", help="who holds the key, e.g. the worker fleet's name")
    create.add_argument(
        "--type", dest="types", action="append", default=[], help="enricher type the key may work on (repeatable)"
    )
    create.add_argument("--gateway", action="store_true", help="a key for the gateway itself, not a worker")
    create.set_defaults(handler=_create)
    revoke = sub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    revoke.set_defaults(handler=_revoke)


async def _with_keys(action: str, args: argparse.Namespace) -> IssuedWorkerKey | bool:
    pool = await asyncpg.create_pool(get_settings().database_url.get_secret_value(), min_size=1, max_size=1)
    try:
        keys = WorkerKeys(pool)
        if action == "create":
            return await keys.issue(args.name, args.types, role="gateway" if args.gateway else "worker")
        return await keys.revoke(args.key_id)
    finally:
        await pool.close()


def _create(args: argparse.Namespace) -> int:
    if not args.gateway and not args.types:
        raise SystemExit("a worker key needs at least one --type")
    issued = asyncio.run(_with_keys("create", args))
    assert isinstance(issued, IssuedWorkerKey)
    print(
        json.dumps(
            {
                "key_id": issued.key_id,
                "name": issued.name,
                "role": issued.role,
                "enricher_types": list(issued.enricher_types),
                "worker_key": issued.secret,
            }
        )
    )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    revoked = asyncio.run(_with_keys("revoke", args))
    print(json.dumps({"key_id": args.key_id, "revoked": revoked}))
    return 0 if revoked else 1

"""One-time preparation of a stack's stores, run by ``vitae up`` before the services start.

Idempotent: schema migrations, blob containers, the Cosmos database and container (with
results it lost restored from their artifacts), a local tenant with an API key (development
only), and a production model in the registry (trained from ``../shared/data`` or generated
data when the registry is empty).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from vitae.results_restore import restore_results, results_lost
from vitae.settings import Settings
from vitae.stores.blob import BlobStore
from vitae.stores.cosmos import ResultStore
from vitae.stores.ledger import Ledger
from vitae.stores.migrations import apply_migrations

LOCAL_TENANT = "local"


def credentials_file(settings: Settings) -> Path:
    return settings.state_dir / "credentials.json"


async def _provision_stores(settings: Settings) -> list[str]:
    """Returns what is worth telling the operator (``vitae up`` prints it)."""
    notes: list[str] = []
    dsn = settings.database_url.get_secret_value()
    applied = await apply_migrations(dsn)
    if applied:
        notes.append(f"migrations applied: {', '.join(applied)}")
    ledger = await Ledger.connect(dsn, max_size=4)
    try:
        async with BlobStore.from_settings(settings) as blobs:
            await blobs.ensure_containers(settings.incoming_container, settings.artifacts_container)
            results = await ResultStore.open(settings, create=True)
            try:
                # The local Cosmos emulator starts empty after every restart; the ledger and
                # the artifacts still hold every result, so bring them back.
                if await results_lost(ledger, results):
                    report = await restore_results(ledger, blobs, results)
                    notes.append(
                        f"results: {report.restored} restored from their artifacts"
                        + (f", {report.missing_artifacts} artifacts missing" if report.missing_artifacts else "")
                    )
            finally:
                await results.close()
        if settings.environment == "development" and not credentials_file(settings).exists():
            await ledger.ensure_tenant(LOCAL_TENANT, "Local development tenant")
            key = await ledger.issue_api_key(LOCAL_TENANT, "vitae up")
            path = credentials_file(settings)
            path.write_text(json.dumps({"tenant": key.tenant_id, "api_key": key.secret}))
            path.chmod(0o600)
    finally:
        await ledger.close()
    return notes


def ensure_model(settings: Settings) -> str:
    from model_runtime.registry import ensure_production_model, registry_from_settings

    ref = ensure_production_model(
        registry_from_settings(settings),
        settings.model_alias,
        data_dir=settings.training_data_dir,
        work_dir=settings.training_dir,
    )
    return f"{ref.name} v{ref.version}"


def provision_stack(settings: Settings) -> list[str]:
    """Provision the stack; returns lines for the operator (what was restored, the model)."""
    notes = asyncio.run(_provision_stores(settings))
    return [*notes, f"production model: {ensure_model(settings)}"]

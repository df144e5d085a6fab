"""Cosmos DB results: the emulator locally, Azure Cosmos DB (SQL API) in production.

One document per resume file (``id`` = file id), partitioned by tenant so every tenant's
queries stay in one partition and can never cross into another's. Each document is the
latest successful result for its file; every job's own result stays immutable in blob
storage (``jobs/<job_id>/result.json``).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from azure.core import MatchConditions
from azure.core.pipeline.transport import AioHttpTransport
from azure.cosmos import PartitionKey, exceptions
from azure.cosmos.aio import ContainerProxy, CosmosClient

from vitae.settings import Settings


class _VerifyingAioTransport(AioHttpTransport):
    """aiohttp transport that trusts exactly one CA file, with one reused SSL context.

    azure-cosmos turns TLS verification *off* for any 127.0.0.1/localhost endpoint unless an
    ``ssl_config`` is given, and the aio client crashes with one (azure-core calls
    ``load_cert_chain(None, None)``); a fresh context per request would also defeat
    connection reuse. So the emulator's own certificate is verified through this transport.
    """

    def __init__(self, ca_file: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ssl_context = ssl.create_default_context(cafile=ca_file)

    def _build_ssl_config(self, cert: Any, verify: Any) -> ssl.SSLContext:
        return self._ssl_context


class ResultStore:
    def __init__(self, client: CosmosClient, container: ContainerProxy) -> None:
        self._client = client
        self._container = container

    @classmethod
    async def open(cls, settings: Settings, *, create: bool = False) -> ResultStore:
        kwargs: dict[str, Any] = {}
        if settings.cosmos_ca_file:
            kwargs["transport"] = _VerifyingAioTransport(str(settings.cosmos_ca_file))
        credential: Any
        if settings.cosmos_key and settings.cosmos_key.get_secret_value():
            credential = settings.cosmos_key.get_secret_value()
        else:
            from azure.identity.aio import DefaultAzureCredential

            credential = DefaultAzureCredential()
        client = CosmosClient(settings.cosmos_endpoint, credential=credential, **kwargs)
        if create:
            database = await client.create_database_if_not_exists(settings.cosmos_database)
            container = await database.create_container_if_not_exists(
                settings.cosmos_results_container, partition_key=PartitionKey(path="/tenantId")
            )
        else:
            container = client.get_database_client(settings.cosmos_database).get_container_client(
                settings.cosmos_results_container
            )
        return cls(client, container)

    async def close(self) -> None:
        await self._client.close()

    async def upsert_latest(self, document: dict[str, Any]) -> str:
        """Store ``document`` unless a newer job already wrote this file's result.

        Jobs for one file may finish out of order (a rerun overtaking a slow first run), so
        the write is a compare-and-swap on the document's eTag ordered by ``jobQueuedAt``.
        Repeating the same job's write is a plain idempotent replace.
        """
        tenant = document["tenantId"]
        for _ in range(8):
            try:
                current = await self._container.read_item(document["id"], partition_key=tenant)
            except exceptions.CosmosResourceNotFoundError:
                try:
                    await self._container.create_item(document)
                    return str(document["id"])
                except exceptions.CosmosResourceExistsError:
                    continue  # lost a race with another writer; compare against theirs
            if (current.get("jobQueuedAt"), current.get("jobId")) > (document["jobQueuedAt"], document["jobId"]):
                return str(document["id"])  # a newer job's result is already there
            try:
                # By id, not by the read item: the SDK would parse the item's _self link, and
                # resource ids may contain "/" (the emulator produces such ids).
                await self._container.replace_item(
                    document["id"], document, etag=current["_etag"], match_condition=MatchConditions.IfNotModified
                )
                return str(document["id"])
            except exceptions.CosmosAccessConditionFailedError:
                await asyncio.sleep(0.01)
        raise RuntimeError("could not store result: too much contention on one document")

    async def get(self, tenant_id: str, file_id: str) -> dict[str, Any] | None:
        try:
            item = await self._container.read_item(file_id, partition_key=tenant_id)
        except exceptions.CosmosResourceNotFoundError:
            return None
        return _public(item)

    async def find_by_skill(self, tenant_id: str, skill: str, limit: int = 50) -> list[dict[str, Any]]:
        query = (
            "SELECT TOP @limit c.id, c.fileId, c.jobId, c.name, c.titles, c.skills, c.model, c.processedAt "
            "FROM c WHERE c.tenantId = @tenant AND ARRAY_CONTAINS(c.skillsNormalized, @skill) "
            "ORDER BY c.processedAt DESC"
        )
        params: list[dict[str, Any]] = [
            {"name": "@limit", "value": limit},
            {"name": "@tenant", "value": tenant_id},
            {"name": "@skill", "value": skill.strip().lower()},
        ]
        items = self._container.query_items(query, parameters=params, partition_key=tenant_id)
        return [_public(i) async for i in items]


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}

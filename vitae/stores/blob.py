"""Blob storage: Azurite locally, an Azure Storage account in production.

With a connection string (Azurite's development account, or an account key) the client
signs requests and SAS URLs with the key; with only an account URL it uses
``DefaultAzureCredential`` (managed identity) and user-delegation SAS.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO
from urllib.parse import quote, unquote

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobSasPermissions, generate_blob_sas
from azure.storage.blob.aio import BlobServiceClient

from vitae.settings import Settings

__all__ = ["BlobLocation", "BlobStore", "ResourceNotFoundError"]


@dataclass(frozen=True)
class BlobLocation:
    container: str
    name: str


class BlobStore:
    def __init__(self, service: BlobServiceClient, *, account_key: str | None) -> None:
        self._service = service
        self._account_key = account_key
        self.account_url = service.url.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings) -> BlobStore:
        if settings.blob_connection_string:
            service = BlobServiceClient.from_connection_string(settings.blob_connection_string.get_secret_value())
            cred = service.credential
            key = getattr(cred, "account_key", None)
            return cls(service, account_key=key)
        from azure.identity.aio import DefaultAzureCredential

        return cls(BlobServiceClient(settings.blob_account_url, credential=DefaultAzureCredential()), account_key=None)

    async def close(self) -> None:
        await self._service.close()

    async def __aenter__(self) -> BlobStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- addressing -----------------------------------------------------------------

    def url_for(self, container: str, name: str) -> str:
        return f"{self.account_url}/{container}/{quote(name)}"

    def locate(self, url: str) -> BlobLocation:
        """Container and name of a blob URL *in this account*.

        URLs arrive from events and clients; refusing other accounts keeps a forged event
        from making the worker fetch from an arbitrary host.
        """
        prefix = self.account_url + "/"
        if not url.startswith(prefix):
            raise ValueError("blob URL is not in the configured storage account")
        container, _, name = unquote(url[len(prefix) :].split("?", 1)[0]).partition("/")
        if not container or not name:
            raise ValueError("blob URL has no container or blob name")
        return BlobLocation(container, name)

    # --- data -----------------------------------------------------------------------

    async def ensure_containers(self, *names: str) -> None:
        for name in names:
            with contextlib.suppress(ResourceExistsError):
                await self._service.create_container(name)

    async def download(self, container: str, name: str, *, max_bytes: int | None = None) -> bytes:
        blob = self._service.get_blob_client(container, name)
        if max_bytes is not None:
            props = await blob.get_blob_properties()
            if props.size > max_bytes:
                raise BlobTooLargeError(props.size)
        stream = await blob.download_blob()
        return await stream.readall()

    async def upload(
        self,
        container: str,
        name: str,
        data: bytes | IO[bytes],
        *,
        content_type: str,
        metadata: dict[str, str] | None = None,
        overwrite: bool = True,
    ) -> str:
        """Upload and return the new eTag."""
        from azure.storage.blob import ContentSettings

        blob = self._service.get_blob_client(container, name)
        props = await blob.upload_blob(
            data,
            overwrite=overwrite,
            metadata=metadata,
            content_settings=ContentSettings(content_type=content_type),
        )
        return str(props["etag"]).strip('"')

    async def write_once(
        self, container: str, name: str, data: bytes, *, content_type: str, metadata: dict[str, str] | None = None
    ) -> str:
        """Write an immutable artifact; a repeat with the same bytes is a no-op.

        A repeat with different bytes would mean someone tried to rewrite history, so it
        raises instead of overwriting.
        """
        try:
            await self.upload(container, name, data, content_type=content_type, metadata=metadata, overwrite=False)
        except ResourceExistsError:
            existing = await self.download(container, name)
            if existing != data:
                raise ImmutableArtifactError(f"{container}/{name} exists with different content") from None
        return self.url_for(container, name)

    async def read_sas_url(self, container: str, name: str, ttl: timedelta) -> str:
        """A short-lived, read-only URL for one blob."""
        now = datetime.now(UTC)
        expiry = now + ttl
        account_name = self._service.account_name or ""
        if self._account_key:
            token = generate_blob_sas(
                account_name,
                container,
                name,
                account_key=self._account_key,
                permission=BlobSasPermissions(read=True),
                expiry=expiry,
                start=now - timedelta(minutes=1),
            )
        else:
            delegation = await self._service.get_user_delegation_key(now - timedelta(minutes=1), expiry)
            token = generate_blob_sas(
                account_name,
                container,
                name,
                user_delegation_key=delegation,
                permission=BlobSasPermissions(read=True),
                expiry=expiry,
                start=now - timedelta(minutes=1),
            )
        return f"{self.url_for(container, name)}?{token}"

    async def list_blobs(self, container: str) -> list[tuple[str, str, datetime]]:
        """(name, eTag, last modified) of every blob in a container."""
        client = self._service.get_container_client(container)
        out = []
        async for item in client.list_blobs():
            out.append((item.name, str(item.etag).strip('"'), item.last_modified))
        return out

    async def list_page(
        self, container: str, prefix: str, continuation: str | None, limit: int
    ) -> tuple[list[tuple[str, datetime]], str | None]:
        """One page of (name, last modified) under ``prefix``, and the token of the next page."""
        client = self._service.get_container_client(container)
        pages = client.list_blobs(name_starts_with=prefix, results_per_page=limit).by_page(
            continuation_token=continuation
        )
        items: list[tuple[str, datetime]] = []
        async for page in pages:
            async for blob in page:
                items.append((blob.name, blob.last_modified))
            break
        # An AsyncPageIterator underneath (typed as a plain iterator): it holds the next token.
        token = getattr(pages, "continuation_token", None)
        return items, str(token) if token else None

    async def delete(self, container: str, name: str) -> bool:
        """Delete a blob (and its snapshots); False when it was already gone."""
        try:
            await self._service.get_container_client(container).delete_blob(name, delete_snapshots="include")
        except ResourceNotFoundError:
            return False
        return True


class BlobTooLargeError(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"blob is {size} bytes")
        self.size = size


class ImmutableArtifactError(Exception):
    pass

"""Cosmos clients that really verify the local emulator's certificate.

azure-cosmos 4.17 turns TLS verification OFF for any endpoint on 127.0.0.1/localhost
unless an ``ssl_config`` is given: ``connection_verify=<path>`` alone is silently ignored
(urllib3 then warns "Unverified HTTPS request" on every call). With ``ssl_config`` the sync
client verifies against ``SSLCaCerts``; the aio client additionally trips over azure-core's
aiohttp transport calling ``load_cert_chain(None, None)``, and building a new SSLContext per
request would defeat connection reuse, so it gets a transport holding one context.
"""

from __future__ import annotations

import ssl
from typing import Any

from azure.core.pipeline.transport import AioHttpTransport
from azure.cosmos import CosmosClient
from azure.cosmos.aio import CosmosClient as AsyncCosmosClient
from azure.cosmos.documents import SSLConfiguration


def sync_cosmos_client(env: dict[str, str], ca_file: str | None = None) -> CosmosClient:
    ca = ca_file or env["VITAE_COSMOS_CA_FILE"]
    ssl_config = SSLConfiguration()
    ssl_config.SSLCaCerts = ca
    return CosmosClient(
        env["VITAE_COSMOS_ENDPOINT"],
        env["VITAE_COSMOS_KEY"],
        ssl_config=ssl_config,
        connection_verify=ca,
    )


class VerifyingAioTransport(AioHttpTransport):
    """aiohttp transport that always uses one SSLContext trusting ``ca_file``."""

    def __init__(self, ca_file: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ssl_context = ssl.create_default_context(cafile=ca_file)

    def _build_ssl_config(self, cert: Any, verify: Any) -> ssl.SSLContext:
        return self._ssl_context


def async_cosmos_client(env: dict[str, str]) -> AsyncCosmosClient:
    return AsyncCosmosClient(
        env["VITAE_COSMOS_ENDPOINT"],
        env["VITAE_COSMOS_KEY"],
        transport=VerifyingAioTransport(env["VITAE_COSMOS_CA_FILE"]),
    )

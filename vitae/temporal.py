"""Connecting to Temporal the same way from every process."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor

from vitae.settings import Settings


async def connect_temporal(settings: Settings) -> Client:
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls=settings.temporal_tls or bool(api_key),
        api_key=api_key,
        # Spans for every workflow start, activity and signal; exported with the process's
        # tracer provider (Azure Monitor in production).
        interceptors=[TracingInterceptor()],
    )

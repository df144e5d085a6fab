"""Local stand-in for Event Grid: notices new blobs in ``incoming-resumes`` and delivers
real-shaped BlobCreated events to the bridge's webhook.

Azurite emits no events and has no change feed, so this polls the container listing. It
covers blobs written directly by other clients (the API also delivers an event for its own
uploads, and the bridge ignores the duplicate). In Azure this process does not run: Event
Grid calls the same webhook. Delivery is at-least-once, like Event Grid's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from vitae.blob_events import blob_created_event
from vitae.ops_server import ops_server
from vitae.settings import Settings
from vitae.stores.blob import BlobStore

log = logging.getLogger("vitae.event_emulator")

# Listing is O(blobs in the container); uploads through the API deliver their own event, so
# this only sets how soon a blob written directly by another client is noticed.
POLL_SECONDS = 2.0
# As the container grows, a listing costs more (here and in Azurite): wait at least this many
# times the last poll's duration, so the watcher stays a few percent of a core at any size.
POLL_COST_FACTOR = 20.0
# Blobs modified this long before the watermark are re-checked, to tolerate clock skew
# between the listing's timestamps and our bookkeeping.
_OVERLAP = timedelta(seconds=5)


class BlobWatcher:
    def __init__(self, settings: Settings, blobs: BlobStore, http: httpx.AsyncClient, state_file: Path) -> None:
        self._settings = settings
        self._blobs = blobs
        self._http = http
        self._state_file = state_file
        self._delivered: dict[tuple[str, str], datetime] = {}
        self._watermark: datetime | None = None
        if state_file.exists():
            self._watermark = datetime.fromisoformat(json.loads(state_file.read_text())["watermark"])

    async def poll_once(self) -> int:
        """Deliver events for blobs not delivered yet; returns how many were delivered."""
        container = self._settings.incoming_container
        listing = await self._blobs.list_blobs(container)
        since = self._watermark - _OVERLAP if self._watermark else None
        fresh = [
            (name, etag, modified)
            for name, etag, modified in listing
            if (since is None or modified >= since) and (name, etag) not in self._delivered
        ]
        if not fresh:
            return 0
        events = [
            blob_created_event(
                url=self._blobs.url_for(container, name),
                etag=etag,
                content_length=0,
                content_type="application/pdf",
                topic="/local/storageAccounts/azurite",
                subject=f"/blobServices/default/containers/{container}/blobs/{name}",
            )
            for name, etag, _ in fresh
        ]
        response = await self._http.post(
            self._settings.bridge_url,
            json=events,
            headers={
                "aeg-event-type": "Notification",
                "x-vitae-event-secret": self._settings.event_secret.get_secret_value(),
            },
        )
        response.raise_for_status()
        for name, etag, modified in fresh:
            self._delivered[(name, etag)] = modified
        self._advance_watermark(max(m for _, _, m in fresh))
        return len(fresh)

    def _advance_watermark(self, newest: datetime) -> None:
        if self._watermark is None or newest > self._watermark:
            self._watermark = newest
            self._state_file.write_text(json.dumps({"watermark": newest.isoformat()}))
        # Forget deliveries the overlap window no longer reaches: memory stays bounded.
        horizon = self._watermark - 2 * _OVERLAP
        self._delivered = {k: m for k, m in self._delivered.items() if m >= horizon}


async def run_event_emulator(settings: Settings, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = ops_server(port, "vitae event emulator")
    serving = asyncio.create_task(server.serve())
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    async with httpx.AsyncClient(timeout=10.0) as http:
        blobs = BlobStore.from_settings(settings)
        watcher = BlobWatcher(settings, blobs, http, settings.state_dir / "event-emulator.json")
        try:
            while not stop.is_set():
                started = loop.time()
                try:
                    delivered = await watcher.poll_once()
                    if delivered:
                        log.info("delivered %d BlobCreated event(s)", delivered)
                except (httpx.HTTPError, OSError) as err:
                    # Bridge or Azurite restarting: keep the blobs pending and try again.
                    log.warning("poll failed, retrying: %s", type(err).__name__)
                except Exception:
                    log.exception("poll failed, retrying")
                pause = max(POLL_SECONDS, POLL_COST_FACTOR * (loop.time() - started))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)
        finally:
            await blobs.close()
            server.should_exit = True
            await serving

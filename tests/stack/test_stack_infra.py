"""The supervisor against real infra processes: up, idempotency, restarts, round trips."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from azure.core.exceptions import ServiceRequestError
from azure.cosmos import PartitionKey, exceptions
from azure.storage.blob import BlobServiceClient
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from tests.stack.cosmos_verified_clients import async_cosmos_client, sync_cosmos_client
from vitae.stack import ServiceError, StackInfo, down, stack_env, status, up
from vitae.stack.infra import SEARCH_ATTRIBUTES, Temporal
from vitae.stack.state import StatePaths, load_record

INFRA = ["azurite", "cosmos", "postgres", "temporal"]


def _pids(state_dir: Path) -> dict[str, int]:
    return {s.name: s.pid for s in status(state_dir) if s.pid is not None}


# --- the stack itself ---------------------------------------------------------------------


def test_up_writes_state_and_env(stack: StackInfo, stack_dir: Path) -> None:
    assert sorted(stack.started) == INFRA
    paths = StatePaths.at(stack_dir)
    for name in INFRA:
        assert paths.log(name).exists()
        record = json.loads(paths.record(name).read_text())
        assert {"pid", "pgid", "ports", "command", "started_at"} <= record.keys()
    assert stack_env(stack_dir) == stack.env
    assert (paths.stack_env.stat().st_mode & 0o777) == 0o600
    document = json.loads(paths.stack_json.read_text())
    assert document["ports"] == stack.ports
    env = stack.env
    assert env["VITAE_STATE_DIR"] == str(paths.root)
    assert env["VITAE_TEMPORAL_ADDRESS"] == f"127.0.0.1:{stack.ports['temporal']['grpc']}"
    assert env["VITAE_COSMOS_CA_FILE"] == str(paths.root / "cosmos" / "cert.pem")
    assert env["VITAE_DATABASE_URL"].endswith(f":{stack.ports['postgres']['port']}/vitae")
    assert stack.urls["temporal_ui"] == f"http://127.0.0.1:{stack.ports['temporal']['ui']}"


def test_status_reports_all_healthy(stack: StackInfo, stack_dir: Path) -> None:
    statuses = status(stack_dir)
    assert sorted(s.name for s in statuses) == INFRA
    assert all(s.alive and s.healthy for s in statuses), statuses


def test_second_up_starts_nothing(stack: StackInfo, stack_dir: Path) -> None:
    before = _pids(stack_dir)
    began = time.monotonic()
    again = up(stack_dir, apps=False, provision=False, quiet=True)
    warm = time.monotonic() - began
    assert again.started == []
    assert sorted(again.reused) == INFRA
    assert _pids(stack_dir) == before
    assert again.env == stack.env
    assert warm < 10, f"warm up took {warm:.1f} s"


def test_sourced_stack_env_is_not_an_external_database(
    stack: StackInfo, stack_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `set -a; . stack.env; vitae up` must still manage this stack's own postgres.
    monkeypatch.setenv("VITAE_DATABASE_URL", stack.env["VITAE_DATABASE_URL"])
    again = up(stack_dir, apps=False, provision=False, quiet=True)
    assert "postgres" in again.reused
    assert "postgres" not in again.skipped


def test_up_restarts_only_the_dead_service_on_its_old_port(stack: StackInfo, stack_dir: Path) -> None:
    before = _pids(stack_dir)
    record = load_record(StatePaths.at(stack_dir), "azurite")
    assert record is not None
    os.killpg(record.pgid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(s.name == "azurite" and s.alive for s in status(stack_dir)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert [s.name for s in status(stack_dir) if not s.ok] == ["azurite"]

    again = up(stack_dir, apps=False, provision=False, quiet=True)
    assert again.started == ["azurite"]
    after = _pids(stack_dir)
    assert after["azurite"] != before["azurite"]
    assert {k: v for k, v in after.items() if k != "azurite"} == {k: v for k, v in before.items() if k != "azurite"}
    assert again.ports["azurite"] == stack.ports["azurite"]


# --- round trips through the stack's env --------------------------------------------------


def test_cosmos_round_trip_sync_verifies_our_certificate(stack: StackInfo) -> None:
    client = sync_cosmos_client(stack.env)
    database = client.create_database_if_not_exists("stack-test")
    container = database.create_container_if_not_exists("items", PartitionKey("/tenant"))
    container.upsert_item({"id": "a", "tenant": "t1", "value": 1})
    assert container.read_item("a", partition_key="t1")["value"] == 1
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        container.read_item("missing", partition_key="t1")

    # Keep-alive: without it every request is a new TLS handshake (~5 s per 100).
    began = time.perf_counter()
    for i in range(100):
        container.upsert_item({"id": f"bulk-{i}", "tenant": "t1", "value": i})
    elapsed = time.perf_counter() - began
    print(f"cosmos sync: 100 upserts in {elapsed:.2f} s")
    assert elapsed < 3.0


def test_cosmos_rejects_a_certificate_it_does_not_trust(stack: StackInfo) -> None:
    import certifi

    # The client reads the account on construction, so that is where verification bites.
    with pytest.raises(ServiceRequestError, match="CERTIFICATE_VERIFY_FAILED"):
        sync_cosmos_client(stack.env, ca_file=certifi.where())


def test_cosmos_round_trip_aio(stack: StackInfo) -> None:
    async def scenario() -> float:
        async with async_cosmos_client(stack.env) as client:
            database = await client.create_database_if_not_exists("stack-test-aio")
            container = await database.create_container_if_not_exists("items", PartitionKey("/tenant"))
            await container.upsert_item({"id": "a", "tenant": "t1", "value": 1})
            assert (await container.read_item("a", partition_key="t1"))["value"] == 1
            with pytest.raises(exceptions.CosmosResourceNotFoundError):
                await container.read_item("missing", partition_key="t1")
            began = time.perf_counter()
            for i in range(100):
                await container.upsert_item({"id": f"bulk-{i}", "tenant": "t1", "value": i})
            return time.perf_counter() - began

    elapsed = asyncio.run(scenario())
    print(f"cosmos aio: 100 upserts in {elapsed:.2f} s")
    assert elapsed < 3.0


def test_azurite_round_trip(stack: StackInfo) -> None:
    service = BlobServiceClient.from_connection_string(stack.env["VITAE_BLOB_CONNECTION_STRING"])
    container = service.get_container_client(f"stack-{uuid.uuid4().hex[:8]}")
    container.create_container()
    container.upload_blob("hello.txt", b"hello vitae")
    assert container.download_blob("hello.txt").readall() == b"hello vitae"
    assert [b.name for b in container.list_blobs()] == ["hello.txt"]


def test_postgres_round_trip(stack: StackInfo) -> None:
    async def scenario() -> str:
        connection = await asyncpg.connect(stack.env["VITAE_DATABASE_URL"])
        try:
            return str(await connection.fetchval("SELECT current_database()"))
        finally:
            await connection.close()

    assert asyncio.run(scenario()) == "vitae"


def test_temporal_serves_with_our_search_attributes(stack: StackInfo) -> None:
    async def scenario() -> set[str]:
        client = await Client.connect(stack.env["VITAE_TEMPORAL_ADDRESS"])
        response = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="default")
        )
        await asyncio.sleep(0.1)  # let the SDK settle before the loop closes (NOTES)
        return set(response.custom_attributes)

    assert set(SEARCH_ATTRIBUTES) <= asyncio.run(scenario())


# --- a second stack at the same time ------------------------------------------------------


@pytest.fixture
def occupied_port() -> Iterator[int]:
    """A port held by a foreign listener, which the second stack must avoid."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_second_stack_falls_back_to_free_ports_and_down_stops_it(
    stack: StackInfo,
    tmp_path: Path,
    occupied_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Temporal's preferred gRPC port is taken by a foreign listener; the others by the
    # first stack. An external database skips postgres (and must never be printed).
    monkeypatch.setattr(Temporal, "preferred_ports", {"grpc": occupied_port, "ui": 8233})
    monkeypatch.setenv("VITAE_DATABASE_URL", "postgresql://app:s3cret@127.0.0.1:1/x")
    second_dir = tmp_path / "second"
    try:
        second = up(second_dir, apps=False, provision=False, quiet=True)
        assert sorted(second.started) == ["azurite", "cosmos", "temporal"]
        assert second.skipped == ["postgres", "provision"]
        assert second.ports["temporal"]["grpc"] != occupied_port
        mine = {p for ports in second.ports.values() for p in ports.values()}
        theirs = {p for ports in stack.ports.values() for p in ports.values()}
        assert not mine & theirs
        assert "s3cret" not in json.dumps(second.urls)
        assert "s3cret" not in (second_dir / "stack.env").read_text()
        assert all(s.ok for s in status(second_dir))
        assert all(s.ok for s in status(stack.state_dir))  # the first stack is untouched
        pids = _pids(second_dir)
    finally:
        down(second_dir)
    assert status(second_dir) == []
    for pid in pids.values():
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
    assert not list((second_dir / "run").glob("*.json"))
    assert (second_dir / "stack.json").exists()  # kept: the next up reuses its ports
    down(second_dir, purge=True)
    assert not second_dir.exists()


def test_failed_start_points_at_the_log_and_leaves_nothing_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VITAE_DATABASE_URL", "postgresql://app@127.0.0.1:1/x")
    monkeypatch.setattr(
        Temporal,
        "command",
        lambda self, ctx, ports: [
            sys.executable,
            "-c",
            "print('boom: no server'); exit(3)",
        ],
    )
    state_dir = tmp_path / "broken"
    with pytest.raises(ServiceError) as failure:
        up(state_dir, apps=False, provision=False, quiet=True)
    message = str(failure.value)
    assert "temporal" in message and "temporal.log" in message and "boom" in message
    assert status(state_dir) == []  # azurite and cosmos were stopped again
    down(state_dir, purge=True)

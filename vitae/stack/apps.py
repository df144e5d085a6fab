"""The Vitae application processes of the local stack: worker, bridge, event-emulator, api.

Each is ``python -m vitae run <name> --port <port>`` (see ``vitae.cli.services``) with the
stack's environment, and is healthy when ``GET /healthz`` on that port answers 200. They
start after the infra is healthy and the provisioning hook has run.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from typing import ClassVar

import httpx

from vitae.stack.service import Service, StackContext
from vitae.stack.state import read_stack_env

LOCALHOST = "127.0.0.1"


def apps_available() -> bool:
    """Whether ``vitae run <app>`` exists yet (the services CLI module is installed)."""
    try:
        return importlib.util.find_spec("vitae.cli.services") is not None
    except ModuleNotFoundError:
        return False


class App(Service):
    kind = "app"

    def command(self, ctx: StackContext, ports: Mapping[str, int]) -> list[str]:
        return [
            sys.executable,
            "-m",
            "vitae",
            "run",
            self.name,
            "--port",
            str(ports["http"]),
        ]

    def process_env(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        env = dict(ctx.base_env)
        env.update(read_stack_env(ctx.paths))
        env["VITAE_STATE_DIR"] = str(ctx.paths.root)
        return env

    def healthy(self, ctx: StackContext, ports: Mapping[str, int]) -> bool:
        response = httpx.get(f"http://{LOCALHOST}:{ports['http']}/healthz", timeout=2.0)
        return response.status_code == 200

    def base_url(self, ports: Mapping[str, int]) -> str:
        return f"http://{LOCALHOST}:{ports['http']}"


class Worker(App):
    """Temporal worker (workflows + inference activities); the port serves /healthz and
    Prometheus metrics."""

    name = "worker"
    preferred_ports: ClassVar[Mapping[str, int]] = {"http": 9464}

    def urls(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return {"worker_metrics": f"{self.base_url(ports)}/metrics"}


class Bridge(App):
    """Event Grid webhook -> Temporal (signal-with-start per uploaded blob)."""

    name = "bridge"
    preferred_ports: ClassVar[Mapping[str, int]] = {"http": 8091}

    def stack_env(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return {"VITAE_BRIDGE_URL": f"{self.base_url(ports)}/v1/events/blob"}

    def urls(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return {"bridge": f"{self.base_url(ports)}/v1/events/blob"}


class EventEmulator(App):
    """Stands in for Event Grid locally (Azurite emits no BlobCreated events)."""

    name = "event-emulator"
    preferred_ports: ClassVar[Mapping[str, int]] = {"http": 9465}

    def urls(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return {"event_emulator": self.base_url(ports)}


class Api(App):
    name = "api"
    preferred_ports: ClassVar[Mapping[str, int]] = {"http": 8000}

    def stack_env(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return {"VITAE_API_URL": self.base_url(ports)}

    def urls(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return {"api": self.base_url(ports), "api_docs": f"{self.base_url(ports)}/docs"}


class Gateway(App):
    """The worker gateway: enrichment workers lease and complete work here."""

    name = "gateway"
    preferred_ports: ClassVar[Mapping[str, int]] = {"http": 8092}

    def stack_env(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return {"VITAE_GATEWAY_URL": self.base_url(ports)}

    def urls(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return {"gateway": self.base_url(ports), "gateway_docs": f"{self.base_url(ports)}/docs"}


def app_services() -> list[App]:
    """In start order: the worker first so workflows started by the bridge get picked up."""
    return [Worker(), Bridge(), EventEmulator(), Api(), Gateway()]

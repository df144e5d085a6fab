"""The Vitae application processes of the local stack: worker, bridge, event-emulator, api,
gateway, and the scoring endpoint when ``VITAE_MODEL_SERVING=endpoint`` (Option B serving).

Each is ``python -m vitae run <name> --port <port>`` (see ``vitae.cli.services``) with the
stack's environment, and is healthy when ``GET /healthz`` on that port answers 200; the
scoring endpoint is ``python -m model_runtime.serving`` and healthy when its readiness probe
answers. They start after the infra is healthy and the provisioning hook has run.
"""

from __future__ import annotations

import importlib.util
import os
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


class Scoring(App):
    """Option B serving: the scoring endpoint (deployments, traffic split, key auth) that
    workers call when ``VITAE_MODEL_SERVING=endpoint``. On its first start it bootstraps the
    endpoint state: ``blue`` = the production version, 100 % of the traffic."""

    name = "scoring"
    preferred_ports: ClassVar[Mapping[str, int]] = {"http": 8093}

    def command(self, ctx: StackContext, ports: Mapping[str, int]) -> list[str]:
        return [sys.executable, "-m", "model_runtime.serving", "--port", str(ports["http"])]

    def healthy(self, ctx: StackContext, ports: Mapping[str, int]) -> bool:
        # Ready, not just alive: every deployment with traffic has its model loaded.
        response = httpx.get(f"http://{LOCALHOST}:{ports['http']}/health/ready", timeout=2.0)
        return response.status_code == 200

    def stack_env(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return {"VITAE_MODEL_SERVING": "endpoint", "VITAE_SCORING_URL": f"{self.base_url(ports)}/score"}

    def urls(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return {"scoring": f"{self.base_url(ports)}/score"}


def endpoint_serving(env: Mapping[str, str] | None = None) -> bool:
    """Whether this stack serves the model through the scoring endpoint (Option B).

    ``VITAE_MODEL_SERVING`` from the environment (``vitae`` loads the stack's own
    ``stack.env`` first, so a stack started in endpoint mode stays in it), else ``.env``.
    """
    value = (os.environ if env is None else env).get("VITAE_MODEL_SERVING")
    if value is None:
        from vitae.settings import Settings

        try:
            value = Settings().model_serving
        except Exception:  # invalid settings are reported by the processes themselves
            return False
    return value.strip().lower() == "endpoint"


def app_services() -> list[App]:
    """In start order: the worker first so workflows started by the bridge get picked up.
    The scoring endpoint only in endpoint mode (in-process serving needs none)."""
    apps: list[App] = [Worker(), Bridge(), EventEmulator(), Api(), Gateway()]
    if endpoint_serving():
        apps.insert(0, Scoring())
    return apps


def all_app_services() -> list[App]:
    """Every app the supervisor may find recorded (``down``/``status`` of any past stack)."""
    apps = app_services()
    return apps if any(isinstance(a, Scoring) for a in apps) else [Scoring(), *apps]

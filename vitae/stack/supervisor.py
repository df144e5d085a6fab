"""``up`` / ``down`` / ``status``: bring a whole local stack to a healthy state and back.

``up`` is idempotent: it reuses every recorded process that is still alive (the same pid
*and* the same process start time) and only starts what is missing, reusing each service's
previous port when it is still free. Independent infra services start in parallel; the
apps start after the infra is healthy and ``vitae.provision.provision_stack`` has run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import inspect
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vitae.stack import processes
from vitae.stack.apps import all_app_services, app_services, apps_available
from vitae.stack.infra import (
    Azurite,
    Cosmos,
    Postgres,
    Temporal,
    infra_services,
    redact_dsn,
)
from vitae.stack.processes import DEFAULT_HEALTH_TIMEOUT, ServiceError
from vitae.stack.service import Kind, Service, StackContext
from vitae.stack.state import (
    RunRecord,
    StatePaths,
    all_records,
    file_lock,
    load_record,
    port_allocation_lock,
    read_stack_env,
    read_stack_json,
    remove_record,
    write_stack_files,
)

# Canonical order (status table, start order within a phase).
SERVICE_ORDER = (
    "postgres",
    "azurite",
    "cosmos",
    "temporal",
    "scoring",
    "worker",
    "bridge",
    "event-emulator",
    "api",
    "gateway",
)


@dataclass
class StackInfo:
    """What ``up`` returns: how to reach the stack, and what this call did."""

    state_dir: Path
    env: dict[str, str]  # VITAE_* variables pointing at this stack (same as stack.env)
    urls: dict[str, str]
    ports: dict[str, dict[str, int]]
    started: list[str] = field(default_factory=list)  # services started by this call
    reused: list[str] = field(default_factory=list)  # already running, left alone
    skipped: list[str] = field(default_factory=list)  # not run (external DB, apps missing)
    elapsed: float = 0.0


@dataclass
class ServiceStatus:
    name: str
    kind: Kind
    pid: int | None
    ports: dict[str, int]
    alive: bool
    healthy: bool
    log: str

    @property
    def ok(self) -> bool:
        return self.alive and self.healthy

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _registry() -> dict[str, Service]:
    """Every service this supervisor knows by name (for down/status of any past stack)."""
    services: list[Service] = [
        Postgres(),
        Azurite(),
        Cosmos(),
        Temporal(),
        *all_app_services(),
    ]
    return {service.name: service for service in services}


def _ordered(names: Iterable[str]) -> list[str]:
    rank = {name: i for i, name in enumerate(SERVICE_ORDER)}
    return sorted(names, key=lambda name: (rank.get(name, len(rank)), name))


def _printer(quiet: bool) -> Callable[[str], None]:
    def say(message: str) -> None:
        if not quiet:
            print(message, flush=True)

    return say


# --- planning and starting ----------------------------------------------------------------


@dataclass
class _Plan:
    ports: dict[str, dict[str, int]] = field(default_factory=dict)
    to_start: list[Service] = field(default_factory=list)
    running: dict[str, RunRecord] = field(default_factory=dict)


def _plan(ctx: StackContext, services: Iterable[Service], reserved: set[int]) -> _Plan:
    """Decide, per service, "reuse the live process" or "start on these ports"."""
    plan = _Plan()
    previous_ports: Mapping[str, Any] = read_stack_json(ctx.paths).get("ports", {})
    for service in services:
        record = load_record(ctx.paths, service.name)
        if record is not None and processes.is_running(record):
            plan.running[service.name] = record
            plan.ports[service.name] = dict(record.ports)
            reserved.update(record.ports.values())
            continue
        if record is not None:
            remove_record(ctx.paths, service.name)  # stale: the process is gone
        before = dict(record.ports) if record else dict(previous_ports.get(service.name, {}))
        plan.ports[service.name] = {
            role: processes.choose_port([before.get(role), preferred], reserved)
            for role, preferred in service.preferred_ports.items()
        }
        plan.to_start.append(service)
    return plan


def _start_all(
    ctx: StackContext,
    services: list[Service],
    ports: Mapping[str, Mapping[str, int]],
    *,
    timeout: float,
    attempted: list[str],
) -> None:
    """Start ``services`` in parallel; raise one error listing every failure."""
    if not services:
        return
    attempted.extend(service.name for service in services)
    for service in services:
        ctx.say(f"starting {service.name} on {_ports_text(ports[service.name])}")
    errors: list[str] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(services)) as pool:
        futures = {
            pool.submit(service.start, ctx, ports[service.name], timeout=timeout): service for service in services
        }
        for future in concurrent.futures.as_completed(futures):
            service = futures[future]
            try:
                future.result()
                ctx.say(f"  {service.name} healthy")
            except Exception as exc:
                errors.append(
                    str(exc) if isinstance(exc, ServiceError) else f"{service.name}: {type(exc).__name__}: {exc}"
                )
    if errors:
        raise ServiceError("\n".join(errors))


def _check_running(
    ctx: StackContext,
    services: Mapping[str, Service],
    running: Mapping[str, RunRecord],
    *,
    timeout: float,
) -> None:
    """A reused process must also be healthy (it may still be starting up)."""
    for name, record in running.items():
        service = services[name]

        def probe(service: Service = service, ports: dict[str, int] = record.ports) -> bool:
            return service.healthy(ctx, ports)

        processes.wait_healthy(name, probe, pid=record.pid, log_path=Path(record.log), timeout=timeout)


def _ports_text(ports: Mapping[str, int]) -> str:
    return ", ".join(f"{role} {port}" for role, port in ports.items())


def _stack_env_and_urls(
    ctx: StackContext, ports: Mapping[str, Mapping[str, int]]
) -> tuple[dict[str, str], dict[str, str]]:
    registry = _registry()
    env: dict[str, str] = {"VITAE_STATE_DIR": str(ctx.paths.root)}
    urls: dict[str, str] = {}
    for name in _ordered(ports):
        service = registry.get(name)
        if service is None:
            continue
        env.update(service.stack_env(ctx, ports[name]))
        urls.update(service.urls(ctx, ports[name]))
    external = ctx.base_env.get("VITAE_DATABASE_URL")
    if "postgres" not in ports and external:
        urls["postgres"] = redact_dsn(external)  # external DB: inherited, not written
    return env, urls


def _write_stack(ctx: StackContext, ports: Mapping[str, Mapping[str, int]]) -> tuple[dict[str, str], dict[str, str]]:
    env, urls = _stack_env_and_urls(ctx, ports)
    write_stack_files(ctx.paths, ports=ports, urls=urls, env=env)
    return env, urls


def _alive_records(paths: StatePaths) -> dict[str, RunRecord]:
    return {name: record for name, record in all_records(paths).items() if processes.is_running(record)}


# --- provisioning hook --------------------------------------------------------------------


def _provision(ctx: StackContext, env: Mapping[str, str]) -> bool:
    """Run ``vitae.provision.provision_stack(settings)`` against this stack.

    Runs on every ``up``: the Cosmos emulator keeps nothing across restarts, so containers
    must be re-created whenever it was restarted; the hook is expected to be idempotent.
    Returns False when the module does not exist yet.
    """
    try:
        module = importlib.import_module("vitae.provision")
    except ModuleNotFoundError as exc:
        if exc.name != "vitae.provision":
            raise
        ctx.say("warning: vitae.provision not found; skipping provisioning")
        return False
    from vitae.settings import Settings

    # Explicit overrides win over the caller's environment and .env: the settings point at
    # *this* stack even when several stacks are alive in one test session.
    overrides: dict[str, Any] = {key.removeprefix("VITAE_").lower(): value for key, value in env.items()}
    settings = Settings(**overrides)
    ctx.say("provisioning (vitae.provision.provision_stack)")
    started = time.monotonic()

    def run_hook() -> object:
        result = module.provision_stack(settings)
        if inspect.isawaitable(result):
            awaitable = result

            async def wait_for_it() -> object:
                return await awaitable

            return asyncio.run(wait_for_it())
        return result

    # In a fresh thread, which has no event loop: the hook may call asyncio.run (or return
    # a coroutine) even when ``up`` itself was called from inside a running loop.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        notes = pool.submit(run_hook).result()
    # The hook may return lines for the operator (what it restored, the model it serves).
    for note in notes if isinstance(notes, list) else []:
        ctx.say(f"  {note}")
    ctx.say(f"  provisioned in {time.monotonic() - started:.1f} s")
    return True


# --- public API ---------------------------------------------------------------------------


def up(
    state_dir: Path,
    *,
    apps: bool = True,
    quiet: bool = False,
    timeout: float = DEFAULT_HEALTH_TIMEOUT,
    provision: bool = True,
) -> StackInfo:
    """Bring the stack in ``state_dir`` up and return once everything is healthy.

    ``apps=False`` stops after infra + provisioning; ``provision=False`` skips the
    provisioning hook (bare infra, e.g. for the supervisor's own tests). With ``apps=True`` the apps are
    skipped (with a warning) while ``vitae.cli.services`` does not exist yet. On failure,
    whatever this call started is stopped again and a ``ServiceError`` says which log to
    read.
    """
    began = time.monotonic()
    paths = StatePaths.at(state_dir)
    paths.ensure()
    ctx = StackContext(paths=paths, say=_printer(quiet))
    own_dsn = read_stack_env(paths).get("VITAE_DATABASE_URL")
    if own_dsn and ctx.base_env.get("VITAE_DATABASE_URL") == own_dsn:
        # The caller sourced this stack's own stack.env: that is our postgres, not an
        # external database, so it must still be (re)started.
        ctx.base_env = {k: v for k, v in ctx.base_env.items() if k != "VITAE_DATABASE_URL"}
    registry = _registry()
    info = StackInfo(state_dir=paths.root, env={}, urls={}, ports={})
    attempted: list[str] = []
    with file_lock(paths.lock):
        try:
            # Held across probing ports and starting servers on them, so parallel stacks
            # never pick the same port.
            with port_allocation_lock():
                infra = infra_services(ctx.base_env)
                if not any(s.name == "postgres" for s in infra):
                    info.skipped.append("postgres")
                    ctx.say("postgres: using VITAE_DATABASE_URL from the environment")
                reserved: set[int] = set()
                infra_plan = _plan(ctx, infra, reserved)
                run_apps = apps and apps_available()
                if apps and not run_apps:
                    ctx.say("warning: vitae.cli.services not found; apps skipped")
                    info.skipped += [app.name for app in app_services()]
                app_plan = _plan(ctx, app_services(), reserved) if run_apps else _Plan()

                _check_running(ctx, registry, infra_plan.running, timeout=timeout)
                _start_all(
                    ctx,
                    infra_plan.to_start,
                    infra_plan.ports,
                    timeout=timeout,
                    attempted=attempted,
                )

                # Keep apps that are alive but not requested this time (``apps=False``) in
                # the stack files, so their ports and URLs are not forgotten.
                ports = {name: dict(record.ports) for name, record in _alive_records(paths).items()}
                ports.update(infra_plan.ports)
                ports.update(app_plan.ports)
                info.env, info.urls = _write_stack(ctx, ports)
                info.ports = ports

                if provision:
                    _provision(ctx, info.env)
                else:
                    info.skipped.append("provision")

                _check_running(ctx, registry, app_plan.running, timeout=timeout)
                _start_all(
                    ctx,
                    app_plan.to_start,
                    app_plan.ports,
                    timeout=timeout,
                    attempted=attempted,
                )
        except BaseException:
            if attempted:
                ctx.say(f"startup failed; stopping what this call started: {', '.join(attempted)}")
                _stop(ctx, attempted, graceful=True)
            raise
    info.started = _ordered(attempted)
    info.reused = _ordered([*infra_plan.running, *app_plan.running])
    info.elapsed = time.monotonic() - began
    ctx.say(render_summary(info))
    return info


def render_summary(info: StackInfo) -> str:
    """Human-readable list of where everything is (no secrets: DSNs are redacted)."""
    labels = [
        ("temporal", "Temporal gRPC"),
        ("temporal_ui", "Temporal Web UI"),
        ("api_docs", "API docs"),
        ("api", "API"),
        ("bridge", "Event bridge"),
        ("gateway", "Worker gateway"),
        ("scoring", "Scoring endpoint"),
        ("azurite", "Azurite blob"),
        ("cosmos", "Cosmos emulator"),
        ("postgres", "Postgres"),
        ("worker_metrics", "Worker metrics"),
    ]
    started = ", ".join(info.started) or "nothing (all running)"
    lines = [f"Vitae stack up in {info.elapsed:.1f} s ({info.state_dir}); started: {started}"]
    for key, label in labels:
        if key in info.urls:
            lines.append(f"  {label:<16} {info.urls[key]}")
    if "VITAE_COSMOS_CA_FILE" in info.env:
        lines.append(f"  {'Cosmos CA file':<16} {info.env['VITAE_COSMOS_CA_FILE']}")
    lines.append(f"  {'Environment':<16} set -a; . {info.state_dir / 'stack.env'}; set +a")
    return "\n".join(lines)


def _stop(ctx: StackContext, names: Iterable[str], *, graceful: bool) -> list[str]:
    """Stop the recorded processes of ``names`` (apps before infra, each phase in
    parallel) and remove their records. Returns the names that had a live process."""
    registry = _registry()
    records = {name: load_record(ctx.paths, name) for name in names}
    stopped: list[str] = []

    def stop_one(name: str, record: RunRecord) -> None:
        if processes.is_running(record):
            stopped.append(name)
            service = registry.get(name)
            if service is None:
                processes.terminate(record, graceful=graceful)
            else:
                service.stop(ctx, record, graceful=graceful)
        remove_record(ctx.paths, name)

    for kind in ("app", "infra"):
        phase = [
            (name, record)
            for name, record in records.items()
            if record is not None and (registry[name].kind if name in registry else "app") == kind
        ]
        if not phase:
            continue
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(phase)) as pool:
            for future in [pool.submit(stop_one, name, record) for name, record in phase]:
                future.result()
    return _ordered(stopped)


def down(state_dir: Path, *, purge: bool = False, quiet: bool = True) -> None:
    """Stop exactly the processes recorded under ``state_dir`` and remove their records.

    ``purge=True`` also deletes the state folder (databases, blobs, logs, certificate).
    """
    paths = StatePaths.at(state_dir)
    if not paths.root.exists():
        return
    ctx = StackContext(paths=paths, say=_printer(quiet))
    with file_lock(paths.lock):
        stopped = _stop(ctx, list(all_records(paths)), graceful=True)
        ctx.say(f"stopped: {', '.join(stopped) or 'nothing was running'}")
    if purge:
        socket_dir = Postgres().socket_dir(ctx)
        if not socket_dir.is_relative_to(paths.root):
            shutil.rmtree(socket_dir, ignore_errors=True)
        shutil.rmtree(paths.root, ignore_errors=True)
        ctx.say(f"removed {paths.root}")


def status(state_dir: Path) -> list[ServiceStatus]:
    """One entry per recorded service: is the process ours and alive, does it answer."""
    paths = StatePaths.at(state_dir)
    ctx = StackContext(paths=paths)
    registry = _registry()
    result: list[ServiceStatus] = []
    records = all_records(paths)
    for name in _ordered(records):
        record = records[name]
        service = registry.get(name)
        if service is not None:
            result.append(_service_status(ctx, service, record))
        else:  # written by a newer/older supervisor: report liveness only
            alive = processes.is_running(record)
            result.append(
                ServiceStatus(
                    name,
                    "app",
                    record.pid,
                    dict(record.ports),
                    alive,
                    alive,
                    record.log,
                )
            )
    return result


def _service_status(ctx: StackContext, service: Service, record: RunRecord) -> ServiceStatus:
    alive = processes.is_running(record)
    healthy = False
    if alive:
        with contextlib.suppress(Exception):
            healthy = service.healthy(ctx, record.ports)
    return ServiceStatus(
        name=service.name,
        kind=service.kind,
        pid=record.pid,
        ports=dict(record.ports),
        alive=alive,
        healthy=healthy,
        log=record.log,
    )


def _app(name: str) -> Service:
    apps = {app.name: app for app in all_app_services()}
    if name not in apps:
        raise ValueError(f"unknown app {name!r}; expected one of {', '.join(apps)}")
    return apps[name]


def start_app(
    state_dir: Path,
    name: str,
    *,
    timeout: float = DEFAULT_HEALTH_TIMEOUT,
    quiet: bool = True,
) -> ServiceStatus:
    """(Re)start one app of a stack whose infra is up; no-op if it is already running.

    Reuses the app's previous port when free, so clients holding its URL keep working.
    """
    service = _app(name)
    paths = StatePaths.at(state_dir)
    if not paths.stack_env.exists():
        raise ServiceError(f"no stack in {paths.root}: run `vitae up` first")
    ctx = StackContext(paths=paths, say=_printer(quiet))
    with file_lock(paths.lock), port_allocation_lock():
        plan = _plan(ctx, [service], reserved=set())
        if name in plan.running:
            return _service_status(ctx, service, plan.running[name])
        ports = {n: dict(r.ports) for n, r in _alive_records(paths).items()}
        ports.update(plan.ports)
        # Write first: the app reads stack.env (its own URL included) when it starts.
        _write_stack(ctx, ports)
        try:
            _start_all(ctx, [service], plan.ports, timeout=timeout, attempted=[])
        except BaseException:
            _stop(ctx, [name], graceful=True)
            raise
        record = load_record(paths, name)
        assert record is not None  # saved by Service.start
        return _service_status(ctx, service, record)


def stop_app(state_dir: Path, name: str, *, graceful: bool = True) -> bool:
    """Stop one app (``graceful=False``: SIGKILL, to simulate a crash). True if it ran."""
    _app(name)
    paths = StatePaths.at(state_dir)
    ctx = StackContext(paths=paths)
    with file_lock(paths.lock):
        return bool(_stop(ctx, [name], graceful=graceful))


def stack_env(state_dir: Path) -> dict[str, str]:
    """The VITAE_* variables of an existing stack (the contents of ``stack.env``)."""
    return read_stack_env(StatePaths.at(state_dir))


def exit_code(statuses: Iterable[ServiceStatus]) -> int:
    return 0 if all(s.ok for s in statuses) else 1

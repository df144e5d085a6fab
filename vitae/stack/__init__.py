"""Local stack supervisor behind ``vitae up`` / ``vitae down`` / ``vitae status``.

Runs PostgreSQL, Azurite, the Cosmos emulator and a Temporal dev server (infra), then the
Vitae apps (worker, bridge, event-emulator, api), all as detached processes whose state
lives under one folder. Usage from tests and benchmarks::

    from vitae.stack import up, down, status, start_app, stop_app

    info = up(tmp_path / "stack", apps=False)   # returns once healthy
    env = {**os.environ, **info.env}            # VITAE_* pointing at this stack
    ...
    down(tmp_path / "stack")
"""

from vitae.stack.processes import ServiceError
from vitae.stack.supervisor import (
    ServiceStatus,
    StackInfo,
    down,
    render_summary,
    stack_env,
    start_app,
    status,
    stop_app,
    up,
)

__all__ = [
    "ServiceError",
    "ServiceStatus",
    "StackInfo",
    "down",
    "render_summary",
    "stack_env",
    "start_app",
    "status",
    "stop_app",
    "up",
]

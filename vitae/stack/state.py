"""On-disk state of one local stack: the layout of its folder and the files in it.

Everything a stack owns lives under one folder so that several stacks (a developer's
``.vitae/`` and each test session's ``tmp_path``) can coexist, and ``vitae down --purge``
removes all of it::

    <state>/logs/<service>.log    what each process printed (appended across restarts)
    <state>/run/<service>.json    run record: pid, process group, ports, command, start time
    <state>/stack.json            ports and URLs of every service (kept after ``down`` so
                                  the next ``up`` reuses the same ports)
    <state>/stack.env             VITAE_* lines pointing any process at this stack
    <state>/postgres, azurite/, cosmos/, temporal/   the services' own data
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class StatePaths:
    """Where each piece of a stack's state lives (``root`` is always absolute)."""

    root: Path

    @classmethod
    def at(cls, state_dir: Path | str) -> StatePaths:
        # Resolve once: children get absolute paths whatever their working directory is.
        return cls(Path(state_dir).expanduser().resolve())

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def stack_json(self) -> Path:
        return self.root / "stack.json"

    @property
    def stack_env(self) -> Path:
        return self.root / "stack.env"

    @property
    def lock(self) -> Path:
        return self.run / ".supervisor.lock"

    def log(self, service: str) -> Path:
        return self.logs / f"{service}.log"

    def record(self, service: str) -> Path:
        return self.run / f"{service}.json"

    def data(self, service: str) -> Path:
        return self.root / service

    def ensure(self) -> None:
        for folder in (self.root, self.logs, self.run):
            folder.mkdir(parents=True, exist_ok=True)


@dataclass
class RunRecord:
    """What the supervisor knows about one process it started.

    ``start_ticks`` (field 22 of ``/proc/<pid>/stat``) and ``boot_id`` identify the exact
    process: a recycled pid after a crash or reboot has a different start time, so we never
    signal a stranger or mistake it for our service.
    """

    service: str
    pid: int
    pgid: int
    ports: dict[str, int]
    command: list[str]
    started_at: float
    log: str
    start_ticks: int | None = None
    boot_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at_iso"] = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.started_at))
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunRecord:
        return cls(
            service=str(data["service"]),
            pid=int(data["pid"]),
            pgid=int(data["pgid"]),
            ports={str(k): int(v) for k, v in dict(data["ports"]).items()},
            command=[str(part) for part in data["command"]],
            started_at=float(data["started_at"]),
            log=str(data["log"]),
            start_ticks=None if data.get("start_ticks") is None else int(data["start_ticks"]),
            boot_id=data.get("boot_id"),
            extra={str(k): str(v) for k, v in dict(data.get("extra") or {}).items()},
        )


def _write_atomically(path: Path, text: str, mode: int = 0o644) -> None:
    """Write via a temporary file + rename so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def load_record(paths: StatePaths, service: str) -> RunRecord | None:
    try:
        data = json.loads(paths.record(service).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return None  # a torn or foreign file is as good as no record
    return RunRecord.from_json(data)


def save_record(paths: StatePaths, record: RunRecord) -> None:
    _write_atomically(paths.record(record.service), json.dumps(record.to_json(), indent=2) + "\n")


def remove_record(paths: StatePaths, service: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        paths.record(service).unlink()


def all_records(paths: StatePaths) -> dict[str, RunRecord]:
    records: dict[str, RunRecord] = {}
    if not paths.run.is_dir():
        return records
    for file in sorted(paths.run.glob("*.json")):
        record = load_record(paths, file.stem)
        if record is not None:
            records[record.service] = record
    return records


def read_stack_json(paths: StatePaths) -> dict[str, Any]:
    try:
        data = json.loads(paths.stack_json.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_stack_files(
    paths: StatePaths,
    *,
    ports: Mapping[str, Mapping[str, int]],
    urls: Mapping[str, str],
    env: Mapping[str, str],
) -> None:
    """Write ``stack.json`` (ports + URLs, no secrets) and ``stack.env`` (0600)."""
    document = {
        "state_dir": str(paths.root),
        "updated_at": time.time(),
        "ports": {name: dict(p) for name, p in sorted(ports.items())},
        "urls": dict(sorted(urls.items())),
        "env_file": str(paths.stack_env),
    }
    _write_atomically(paths.stack_json, json.dumps(document, indent=2) + "\n")
    # stack.env carries the emulators' well-known development keys: public, but keep the
    # file private anyway so the habit survives when someone points it at a real account.
    _write_atomically(paths.stack_env, format_env_file(env), mode=0o600)


def format_env_file(env: Mapping[str, str]) -> str:
    """``KEY='value'`` lines: valid for ``set -a; . stack.env`` and for dotenv readers
    (connection strings contain ``;`` which a shell would otherwise split on)."""
    header = "# Generated by `vitae up`: VITAE_* settings pointing at this local stack.\n"
    return header + "".join(f"{key}={shlex.quote(value)}\n" for key, value in sorted(env.items()))


def parse_env_file(text: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or "=" not in stripped:
            continue
        key, _, raw = stripped.partition("=")
        parts = shlex.split(raw) if raw else [""]
        env[key.strip()] = parts[0] if parts else ""
    return env


def read_stack_env(paths: StatePaths) -> dict[str, str]:
    try:
        return parse_env_file(paths.stack_env.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Exclusive advisory lock held for the ``with`` block (released if we die)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def port_allocation_lock() -> contextlib.AbstractContextManager[None]:
    """Machine-wide lock serializing "probe a port is free, then start a server on it".

    Without it two stacks coming up at once (parallel test sessions) could both see 7233
    free; the loser's Temporal would exit while the winner's answers its health probe.
    """
    return file_lock(Path(tempfile.gettempdir()) / "vitae-stack-ports.lock")

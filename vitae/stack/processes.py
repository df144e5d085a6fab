"""Starting, identifying, probing and stopping the stack's OS processes.

Processes are started detached (own session and process group, stdout/stderr appended to
the service's log file) so they outlive ``vitae up`` and can be stopped as a group by a
later ``vitae down``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

from vitae.stack.state import RunRecord

# How long a service may take to become healthy before ``up`` gives up on it.
DEFAULT_HEALTH_TIMEOUT = 60.0
# How long a process gets between SIGTERM and SIGKILL.
DEFAULT_STOP_TIMEOUT = 10.0


class ServiceError(RuntimeError):
    """A service failed to start or become healthy; the message points at its log."""


# What a health probe may raise while a server is still coming up: "not healthy yet".
PROBE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    httpx.HTTPError,
    subprocess.SubprocessError,
    ServiceError,
)


# --- process identity ---------------------------------------------------------------------


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks since boot) from ``/proc/<pid>/stat``."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is parenthesized and may itself contain spaces or ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[19])


def identify(pid: int) -> tuple[int | None, str | None]:
    """What we store to recognize this very process later (start ticks, boot id)."""
    stat = _proc_stat(pid)
    return (stat[1] if stat else None), _boot_id()


# Popen objects of the children this process started. Holding them keeps Python from
# warning "subprocess is still running" when they are garbage-collected, and lets us reap.
_children: dict[int, subprocess.Popen[bytes]] = {}


def _reap_if_our_child(pid: int) -> None:
    """Collect a dead child's exit status so it stops being a zombie.

    Matters when the supervisor lives on in the same process (tests calling ``up`` and
    ``stop_app``): a dead child stays a zombie, and a zombie still "exists" for ``kill(0)``.
    """
    child = _children.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _children[pid]
        return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def pid_alive(pid: int) -> bool:
    _reap_if_our_child(pid)
    stat = _proc_stat(pid)
    if stat is not None:
        return stat[0] not in ("Z", "X")
    if Path("/proc").is_dir():
        return False
    try:  # no procfs (not Linux): fall back to signal 0
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_running(record: RunRecord) -> bool:
    """True when the recorded process is alive AND is the process we started."""
    if not pid_alive(record.pid):
        return False
    ticks, boot = identify(record.pid)
    if record.boot_id and boot and record.boot_id != boot:
        return False  # rebooted since: the pid belongs to someone else now
    # A different start time means the pid was recycled.
    return record.start_ticks is None or ticks is None or record.start_ticks == ticks


# --- starting -----------------------------------------------------------------------------


def open_log(log_path: Path, command: Sequence[str]) -> int:
    """Open the service log for appending, with a banner separating this run from the last."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    os.write(fd, f"\n===== {stamp} starting: {' '.join(command)}\n".encode())
    return fd


def spawn(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    log_path: Path,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``command`` detached: new session (so a Ctrl-C in the terminal that ran
    ``vitae up`` does not reach it, and ``killpg`` reaches all its children), no stdin,
    output appended to ``log_path``."""
    fd = open_log(log_path, command)
    try:
        child = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        os.close(fd)
    _children[child.pid] = child
    return child


def record_for(
    service: str,
    pid: int,
    *,
    ports: Mapping[str, int],
    command: Sequence[str],
    log_path: Path,
    extra: Mapping[str, str] | None = None,
) -> RunRecord:
    ticks, boot = identify(pid)
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        pgid = pid
    return RunRecord(
        service=service,
        pid=pid,
        pgid=pgid,
        ports=dict(ports),
        command=list(command),
        started_at=time.time(),
        log=str(log_path),
        start_ticks=ticks,
        boot_id=boot,
        extra=dict(extra or {}),
    )


# --- stopping -----------------------------------------------------------------------------


def _signal_group(record: RunRecord, sig: signal.Signals) -> None:
    try:
        if record.pgid > 1 and record.pgid != os.getpgrp():
            os.killpg(record.pgid, sig)
        else:  # never signal our own group (or init's)
            os.kill(record.pid, sig)
    except ProcessLookupError:
        pass


def terminate(record: RunRecord, *, timeout: float = DEFAULT_STOP_TIMEOUT, graceful: bool = True) -> None:
    """SIGTERM the record's process group, SIGKILL it after ``timeout`` seconds.

    ``graceful=False`` sends SIGKILL straight away (to simulate a crash in tests). Does
    nothing when the pid is no longer the process we started.
    """
    if not is_running(record):
        return
    _signal_group(record, signal.SIGTERM if graceful else signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(record.pid):
            break
        time.sleep(0.05)
    else:
        _signal_group(record, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while pid_alive(record.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    # Children left in the group (e.g. a shell's grandchildren) go with it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if record.pgid > 1 and record.pgid != os.getpgrp():
            os.killpg(record.pgid, signal.SIGKILL)


# --- ports --------------------------------------------------------------------------------


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True if a server could bind ``host:port`` now and nothing answers on it.

    SO_REUSEADDR mirrors what the servers do, so TIME_WAIT leftovers of a stopped
    service do not count as "taken"; a listener on 0.0.0.0 still makes the bind fail.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return not tcp_answers(port, host, timeout=0.2)


def tcp_answers(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# Fallback ports come from below the kernel's ephemeral range. A port the OS hands out for
# ``bind(0)`` lies inside that range, where any outgoing connection may take it as its local
# port between our probe and the server's own bind (seen in CI: Temporal's UI failed with
# "bind: address already in use"); below it, only listeners compete, and the probe sees those.
FALLBACK_PORT_FLOOR = 20000
_LINUX_EPHEMERAL_RANGE = (32768, 60999)


def ephemeral_range() -> tuple[int, int]:
    """The kernel's range of local ports for outgoing connections."""
    try:
        low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        return _LINUX_EPHEMERAL_RANGE
    return low, high


def fallback_port(rng: random.Random) -> int:
    """A port no outgoing connection can be given: below the ephemeral range when there is
    room there, else one the OS picks."""
    low, _ = ephemeral_range()
    if low - FALLBACK_PORT_FLOOR >= 1000:
        return rng.randrange(FALLBACK_PORT_FLOOR, low)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def choose_port(candidates: Sequence[int | None], reserved: set[int]) -> int:
    """First free candidate (previous port, then preferred), else a free fallback port.

    ``reserved`` holds ports already promised to other services of this stack; the
    chosen port is added to it.
    """
    for port in candidates:
        if port and port not in reserved and port_free(port):
            reserved.add(port)
            return port
    rng = random.Random()
    for _ in range(200):
        port = fallback_port(rng)
        if port not in reserved and port_free(port):
            reserved.add(port)
            return port
    raise ServiceError("could not find a free TCP port on 127.0.0.1")


# --- health -------------------------------------------------------------------------------


def tail(path: Path | str, lines: int = 25) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 16_384))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def failure(service: str, problem: str, log_path: Path | str) -> ServiceError:
    return ServiceError(
        f"{service}: {problem}\n  log: {log_path}\n  last lines:\n"
        + "\n".join(f"    {line}" for line in tail(log_path).splitlines())
    )


def wait_healthy(
    service: str,
    check: Callable[[], bool],
    *,
    pid: int,
    log_path: Path,
    timeout: float = DEFAULT_HEALTH_TIMEOUT,
    interval: float = 0.1,
) -> None:
    """Poll ``check`` until it passes; fail fast if the process exits meanwhile.

    The liveness check also runs after a passing probe: a second Temporal on a taken port
    exits at once while the *other* server answers the probe (NOTES), so a healthy answer
    only counts if our process is still there.
    """
    deadline = time.monotonic() + timeout
    while True:
        if not pid_alive(pid):
            raise failure(service, f"process {pid} exited during startup", log_path)
        try:
            ok = check()
        except PROBE_ERRORS:  # connection refused, TLS not up yet, probe timeout...
            ok = False
        if ok and pid_alive(pid):
            return
        if time.monotonic() >= deadline:
            raise failure(service, f"not healthy after {timeout:.0f} s", log_path)
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)


def run_checked(
    command: Sequence[str],
    *,
    service: str,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120.0,
) -> None:
    """Run a short setup command (initdb, pg_ctl, createdb), its output into the log."""
    fd = open_log(log_path, command)
    try:
        result = subprocess.run(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=subprocess.STDOUT,
            env=None if env is None else dict(env),
            cwd=cwd,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise failure(service, f"{command[0]} timed out after {timeout:.0f} s", log_path) from exc
    finally:
        os.close(fd)
    if result.returncode != 0:
        raise failure(
            service,
            f"{Path(command[0]).name} exited with {result.returncode}",
            log_path,
        )

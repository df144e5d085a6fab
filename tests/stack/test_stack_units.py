"""Fast tests of the supervisor's pieces (no infra processes)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from vitae.stack import ServiceError, start_app, status, stop_app
from vitae.stack.apps import Worker
from vitae.stack.infra import redact_dsn
from vitae.stack.processes import FALLBACK_PORT_FLOOR, choose_port, ephemeral_range, is_running, record_for, spawn
from vitae.stack.service import StackContext
from vitae.stack.state import (
    StatePaths,
    format_env_file,
    parse_env_file,
    write_stack_files,
)


def test_env_file_round_trips_values_a_shell_would_split(tmp_path: Path) -> None:
    env = {
        "VITAE_BLOB_CONNECTION_STRING": "A=1;B=two words;C='q'",
        "VITAE_STATE_DIR": "/tmp/x",
        "VITAE_EMPTY": "",
    }
    text = format_env_file(env)
    assert parse_env_file(text) == env
    script = tmp_path / "stack.env"
    script.write_text(text)
    shell = subprocess.run(
        [
            "bash",
            "-c",
            f'set -a; . {script}; printf %s "$VITAE_BLOB_CONNECTION_STRING"',
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shell.stdout == env["VITAE_BLOB_CONNECTION_STRING"]


def test_redact_dsn_hides_only_the_password() -> None:
    assert redact_dsn("postgresql://u:pw@h:5/db") == "postgresql://u:***@h:5/db"
    assert redact_dsn("postgresql://u@h:5/db") == "postgresql://u@h:5/db"


def test_choose_port_skips_a_taken_preferred_port() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        reserved: set[int] = set()
        chosen = choose_port([None, taken], reserved)
        assert chosen != taken and chosen in reserved
        # ... and never hands out a port already promised to another service.
        assert choose_port([chosen], reserved) != chosen


def test_fallback_ports_stay_out_of_the_ephemeral_range() -> None:
    # Outgoing connections take their local port from the ephemeral range, so a fallback port
    # there could be gone again before the server binds it.
    low, high = ephemeral_range()
    reserved: set[int] = set()
    chosen = [choose_port([None], reserved) for _ in range(20)]
    assert len(set(chosen)) == 20
    if low - FALLBACK_PORT_FLOOR >= 1000:
        assert all(FALLBACK_PORT_FLOOR <= port < low for port in chosen), (chosen, low, high)


def test_is_running_rejects_a_recycled_pid(tmp_path: Path) -> None:
    child = spawn(
        [sys.executable, "-c", "import time; time.sleep(30)"],
        env=os.environ,
        log_path=tmp_path / "sleep.log",
    )
    try:
        record = record_for(
            "sleeper",
            child.pid,
            ports={},
            command=["sleep"],
            log_path=tmp_path / "sleep.log",
        )
        assert is_running(record)
        assert record.pgid == child.pid  # its own session/process group
        assert record.start_ticks is not None
        record.start_ticks += 1  # "another process that got the same pid"
        assert not is_running(record)
    finally:
        child.kill()
        child.wait()
    record.start_ticks -= 1
    assert not is_running(record)


# A stand-in for ``vitae run <app> --port N``: serves /healthz so start_app/stop_app can be
# tested without the real apps (and their model bootstrap).
FAKE_APP = textwrap.dedent(
    """
    import http.server, sys
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()
        def log_message(self, *args):
            pass
    http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
    """
)


def test_start_app_and_stop_app_restart_one_app_on_its_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_command(self: Worker, ctx: StackContext, ports: Mapping[str, int]) -> list[str]:
        return [sys.executable, "-c", FAKE_APP, str(ports["http"])]

    monkeypatch.setattr(Worker, "command", fake_command)
    state_dir = tmp_path / "apps"
    with pytest.raises(ServiceError, match="vitae up"):
        start_app(state_dir, "worker")
    paths = StatePaths.at(state_dir)
    paths.ensure()
    write_stack_files(paths, ports={}, urls={}, env={"VITAE_STATE_DIR": str(paths.root)})
    try:
        first = start_app(state_dir, "worker")
        assert first.ok and first.pid
        assert start_app(state_dir, "worker").pid == first.pid  # already running: no-op
        assert stop_app(state_dir, "worker", graceful=False)  # a crash
        assert status(state_dir) == []
        second = start_app(state_dir, "worker")
        assert second.ok and second.pid != first.pid
        assert second.ports == first.ports  # clients holding its URL keep working
        assert "worker_metrics" in (paths.stack_json.read_text())
    finally:
        stop_app(state_dir, "worker")
    assert not stop_app(state_dir, "worker")
    with pytest.raises(ValueError, match="unknown app"):
        stop_app(state_dir, "nope")

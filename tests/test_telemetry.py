"""Tracing is installed only where spans go somewhere.

OpenTelemetry's providers are process-global and ``setup_telemetry`` installs them once per
process, so each case runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_SCRIPT = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from vitae.settings import Settings
from vitae.telemetry import setup_telemetry

telemetry = setup_telemetry(Settings(), "test")
with trace.get_tracer("vitae.test").start_as_current_span("one-resume") as span:
    recording = span.is_recording()
if telemetry.tracer_provider is not None:
    telemetry.tracer_provider.force_flush()
print(recording, isinstance(trace.get_tracer_provider(), TracerProvider))
"""


def _run(env_extra: dict[str, str], tmp_path: Path) -> str:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "VITAE_ENVIRONMENT": "development", **env_extra}
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.strip()


def test_spans_are_recorded_and_written_when_a_trace_file_is_configured(tmp_path: Path) -> None:
    trace_file = tmp_path / "spans.jsonl"
    assert _run({"VITAE_TRACE_FILE": str(trace_file)}, tmp_path) == "True True"
    spans = [json.loads(line) for line in trace_file.read_text().splitlines()]
    assert [s["name"] for s in spans] == ["one-resume"]
    assert spans[0]["resource"]["attributes"]["service.name"] == "vitae-test"


def test_no_spans_are_built_when_nothing_exports_them(tmp_path: Path) -> None:
    # The API's no-op provider stays: Temporal's tracing interceptor then costs next to nothing.
    assert _run({}, tmp_path) == "False False"

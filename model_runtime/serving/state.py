"""The endpoint's configuration: deployments (name → model version), traffic and mirror traffic.

Same rules as an Azure ML managed online endpoint, checked before anything changes:

* deployment names: 3–32 characters, letters, digits and ``-``, starting with a letter;
* ``traffic``: integer percentages per existing deployment, summing to 100 (0 when there is
  no deployment); deployments left out get 0;
* ``mirror_traffic``: at most one deployment, one that gets no live traffic, at most 50 %.

The state is one JSON file, replaced atomically, so a restarted server serves what it served
before and a change is either fully applied or not at all.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,30}[A-Za-z0-9]$")
MAX_MIRROR_PERCENT = 50


class StateError(ValueError):
    """A requested change breaks an endpoint rule (HTTP 400, or ``status``)."""

    def __init__(self, message: str, *, code: str = "InvalidConfiguration", status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class DeploymentSpec:
    model_version: str
    updated_at: str = field(default_factory=now_iso)


@dataclass
class EndpointState:
    name: str
    model_name: str
    deployments: dict[str, DeploymentSpec] = field(default_factory=dict)
    traffic: dict[str, int] = field(default_factory=dict)
    mirror_traffic: dict[str, int] = field(default_factory=dict)
    revision: int = 0
    updated_at: str = field(default_factory=now_iso)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model_name": self.model_name,
            "revision": self.revision,
            "updated_at": self.updated_at,
            "deployments": {
                name: {"model_version": spec.model_version, "updated_at": spec.updated_at}
                for name, spec in sorted(self.deployments.items())
            },
            "traffic": {name: self.traffic.get(name, 0) for name in sorted(self.deployments)},
            "mirror_traffic": dict(sorted(self.mirror_traffic.items())),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EndpointState:
        deployments = {
            str(name): DeploymentSpec(str(spec["model_version"]), str(spec.get("updated_at") or now_iso()))
            for name, spec in (data.get("deployments") or {}).items()
        }
        state = cls(
            name=str(data["name"]),
            model_name=str(data["model_name"]),
            deployments=deployments,
            revision=int(data.get("revision", 0)),
            updated_at=str(data.get("updated_at") or now_iso()),
        )
        state.traffic, state.mirror_traffic = validate_traffic(
            deployments, data.get("traffic") or {}, data.get("mirror_traffic") or {}
        )
        return state

    def live_deployments(self) -> list[str]:
        """Deployments that get live traffic, in a stable order (routing relies on it)."""
        return [name for name in sorted(self.deployments) if self.traffic.get(name, 0) > 0]

    def with_changes(
        self,
        *,
        deployments: dict[str, DeploymentSpec] | None = None,
        traffic: dict[str, int] | None = None,
        mirror_traffic: dict[str, int] | None = None,
    ) -> EndpointState:
        """A validated copy with the next revision (``self`` is left as it is)."""
        new_deployments = dict(self.deployments if deployments is None else deployments)
        new_traffic, new_mirror = validate_traffic(
            new_deployments,
            self.traffic if traffic is None else traffic,
            self.mirror_traffic if mirror_traffic is None else mirror_traffic,
        )
        return EndpointState(
            name=self.name,
            model_name=self.model_name,
            deployments=new_deployments,
            traffic=new_traffic,
            mirror_traffic=new_mirror,
            revision=self.revision + 1,
            updated_at=now_iso(),
        )


def validate_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise StateError(
            f"invalid deployment name {name!r}: 3-32 letters, digits or '-', starting with a letter",
            code="InvalidDeploymentName",
        )
    return name


def _percentages(kind: str, values: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            raise StateError(f"{kind} for {name!r} must be an integer percentage 0-100, got {value!r}")
        out[str(name)] = value
    return out


def validate_traffic(
    deployments: dict[str, DeploymentSpec], traffic: dict[str, Any], mirror_traffic: dict[str, Any]
) -> tuple[dict[str, int], dict[str, int]]:
    """The full traffic map (every deployment, zeros included) and the mirror map (no zeros)."""
    live = _percentages("traffic", traffic)
    mirror = {name: pct for name, pct in _percentages("mirror traffic", mirror_traffic).items() if pct > 0}
    unknown = sorted((set(live) | set(mirror)) - set(deployments))
    if unknown:
        raise StateError(f"no such deployment: {', '.join(unknown)}", code="DeploymentNotFound")
    total = sum(live.values())
    expected = 100 if deployments else 0
    if total != expected:
        raise StateError(f"traffic must add up to {expected}, not {total}: {live}", code="InvalidTrafficSum")
    if len(mirror) > 1:
        raise StateError("mirror traffic can go to one deployment only", code="InvalidMirrorTraffic")
    for name, pct in mirror.items():
        if pct > MAX_MIRROR_PERCENT:
            raise StateError(
                f"mirror traffic is limited to {MAX_MIRROR_PERCENT} %, not {pct} %", code="InvalidMirrorTraffic"
            )
        if live.get(name, 0) > 0:
            raise StateError(
                f"cannot mirror to {name!r}: it gets {live[name]} % of live traffic", code="InvalidMirrorTraffic"
            )
    return {name: live.get(name, 0) for name in sorted(deployments)}, mirror


def load_state(path: Path) -> EndpointState | None:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return EndpointState.from_json(json.loads(raw))


def save_state(path: Path, state: EndpointState) -> None:
    """Write ``state`` atomically (a reader sees the old file or the new one, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".endpoint-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(state.to_json(), fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parse_assignments(pairs: list[str]) -> dict[str, int]:
    """``["blue=90", "green=10"]`` (the ``az ml online-endpoint update --traffic`` form) → dict."""
    out: dict[str, int] = {}
    for pair in pairs:
        for item in pair.replace(",", " ").split():
            name, sep, value = item.partition("=")
            if not sep or not name:
                raise StateError(f"expected NAME=PERCENT, got {item!r}")
            try:
                out[name.strip()] = int(value)
            except ValueError:
                raise StateError(f"percentage of {name!r} is not an integer: {value!r}") from None
    return out

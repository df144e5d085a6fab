"""What the benches read from /proc: a process's stat fields, CPU time and resident memory."""

from __future__ import annotations

import os
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (index 0 is field 3, the state);
    ``None`` when the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(fields: list[str], *, reaped_children: bool = False) -> float:
    """User + system CPU of a process from its :func:`stat_fields`; with ``reaped_children``,
    also that of its children it has waited for."""
    ticks = fields[11:15] if reaped_children else fields[11:13]
    return sum(int(v) for v in ticks) / CLK_TCK


def rss_mb(pid: int) -> float:
    """Resident memory of a live process (NaN when it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")

"""The ``vitae`` command.

Each command group lives in its own module exposing ``register(subparsers)``; this module
only assembles them. Handlers receive the parsed ``argparse.Namespace`` and return an exit
code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

# Modules that contribute subcommands, in the order they appear in --help.
_COMMAND_MODULES = (
    "vitae.cli.stack",  # up, down, status
    "vitae.cli.resumes",  # upload, result, replay, tenant, results restore
    "vitae.cli.model",  # model train | list | ...
    "vitae.cli.endpoint",  # endpoint show | deploy | traffic | delete | score
    "vitae.cli.enrich",  # enrich-worker
    "vitae.cli.services",  # run worker | api | bridge | event-emulator | gateway
    "vitae.cli.workers",  # worker-key create | revoke
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vitae", description="Vitae resume platform")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def _load_stack_env() -> None:
    """Point this command at the running local stack (``vitae up`` writes ``stack.env``).

    Variables already set in the environment win, so Azure settings are never overridden.
    """
    state_dir = Path(os.environ.get("VITAE_STATE_DIR", ".vitae"))
    env_file = state_dir / "stack.env"
    if not env_file.exists():
        return
    for line in env_file.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("VITAE_"):
            os.environ.setdefault(key.strip(), value.strip())


def main(argv: Sequence[str] | None = None) -> int:
    _load_stack_env()
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

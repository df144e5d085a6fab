"""``vitae up`` / ``vitae down`` / ``vitae status``: the local stack commands.

Thin wrappers over ``vitae.stack``; all logic lives there so tests and benchmarks use the
same code through the Python API.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _default_state_dir() -> Path:
    # VITAE_STATE_DIR (or .env) decides, like for every other process; default .vitae/.
    from vitae.settings import Settings

    return Settings().state_dir


def _add_state_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="folder holding the stack's data, logs and run records (default: VITAE_STATE_DIR or .vitae/)",
    )


def _state_dir(args: argparse.Namespace) -> Path:
    return Path(args.state_dir) if args.state_dir else _default_state_dir()


def _up(args: argparse.Namespace) -> int:
    from vitae.stack import ServiceError, up

    try:
        info = up(
            _state_dir(args),
            apps=not args.no_apps,
            quiet=args.quiet,
            timeout=args.timeout,
            provision=not args.no_provision,
        )
    except ServiceError as exc:
        print(f"vitae up failed:\n{exc}", file=sys.stderr)
        return 1
    if args.demo:
        from vitae.cli.demo import run_demo

        return run_demo(info.env, info.urls)
    return 0


def _down(args: argparse.Namespace) -> int:
    from vitae.stack import down

    down(_state_dir(args), purge=args.purge, quiet=False)
    return 0


def _status(args: argparse.Namespace) -> int:
    from vitae.stack import status

    state_dir = _state_dir(args)
    statuses = status(state_dir)
    ok = all(s.ok for s in statuses)
    if args.json:
        document: dict[str, Any] = {
            "state_dir": str(state_dir.resolve()),
            "ok": ok,
            "services": [s.to_json() for s in statuses],
        }
        print(json.dumps(document, indent=2))
    elif not statuses:
        print(f"no services recorded in {state_dir.resolve()} (run `vitae up`)")
    else:
        print(f"{'SERVICE':<16}{'PID':>8}  {'PORTS':<24}{'ALIVE':<7}{'HEALTHY':<8}")
        for s in statuses:
            ports = ",".join(f"{role}={port}" for role, port in s.ports.items())
            print(
                f"{s.name:<16}{s.pid or '-':>8}  {ports:<24}"
                f"{'yes' if s.alive else 'NO':<7}{'yes' if s.healthy else 'NO':<8}"
            )
    return 0 if ok else 1


def register(subparsers: Any) -> None:
    """Add ``up``, ``down`` and ``status`` to the ``vitae`` command."""
    up_parser = subparsers.add_parser(
        "up",
        help="start the local stack (idempotent)",
        description="Start PostgreSQL, Azurite, the Cosmos emulator, Temporal and the "
        "Vitae apps; restarts only what is not running.",
    )
    _add_state_dir(up_parser)
    up_parser.add_argument(
        "--no-apps",
        action="store_true",
        help="infra and provisioning only (no worker/bridge/event-emulator/api)",
    )
    up_parser.add_argument(
        "--no-provision",
        action="store_true",
        help="skip vitae.provision (migrations, containers, model bootstrap)",
    )
    up_parser.add_argument("--quiet", action="store_true", help="print nothing on success")
    up_parser.add_argument("--demo", action="store_true", help="then upload the sample resumes and print their results")
    up_parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="seconds each service may take to become healthy (default 60)",
    )
    up_parser.set_defaults(handler=_up)

    down_parser = subparsers.add_parser("down", help="stop everything `vitae up` started for this state folder")
    _add_state_dir(down_parser)
    down_parser.add_argument(
        "--purge",
        action="store_true",
        help="also delete the state folder (databases, blobs, logs)",
    )
    down_parser.set_defaults(handler=_down)

    status_parser = subparsers.add_parser(
        "status", help="show the stack's services; exit 1 if any recorded one is down"
    )
    _add_state_dir(status_parser)
    status_parser.add_argument("--json", action="store_true", help="machine-readable output")
    status_parser.set_defaults(handler=_status)

"""``vitae run SERVICE``: the long-running processes that ``vitae up`` supervises."""

from __future__ import annotations

import argparse
import asyncio
import logging

from vitae.settings import get_settings

SERVICES = ("worker", "api", "bridge", "event-emulator", "gateway")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = subparsers.add_parser("run", help="run one Vitae service in the foreground")
    run.add_argument("service", choices=SERVICES)
    run.add_argument("--port", type=int, required=True, help="HTTP port (API, webhook, or /healthz + /metrics)")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Third-party clients log request URLs and headers at INFO; keep logs free of noise and PII.
    for noisy in ("azure", "httpx", "mlflow", "alembic", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = get_settings()
    if args.service == "worker":
        from vitae.worker import run_worker

        asyncio.run(run_worker(settings, args.port))
    elif args.service == "event-emulator":
        from vitae.event_emulator import run_event_emulator

        asyncio.run(run_event_emulator(settings, args.port))
    else:
        import uvicorn

        if args.service == "api":
            from api.app import create_app

            app = create_app(settings)
        elif args.service == "gateway":
            from worker_gateway.app import create_gateway_app

            app = create_gateway_app(settings)
        else:
            from api.bridge import create_bridge_app

            app = create_bridge_app(settings)
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    return 0

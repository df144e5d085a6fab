"""``vitae enrich-worker``: the reference ``compatibility.v1`` worker against the worker gateway."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal

from vitae.settings import get_settings


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = subparsers.add_parser("enrich-worker", help="run the compatibility.v1 enrichment worker")
    worker.add_argument(
        "--gateway", default=os.environ.get("VITAE_GATEWAY_URL"), help="gateway URL (default: $VITAE_GATEWAY_URL)"
    )
    worker.add_argument("--key", default=os.environ.get("VITAE_WORKER_KEY"), help="worker key ($VITAE_WORKER_KEY)")
    worker.add_argument("--type", dest="types", action="append", help="enricher type (default compatibility.v1)")
    worker.add_argument("--once", action="store_true", help="exit after processing one run")
    worker.add_argument("--threads", type=int, default=2, help="onnxruntime threads (1–2)")
    worker.add_argument("--int8", action="store_true", help="use the dynamically quantised encoder")
    worker.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    # Environment defaults are read at parse time, before main() loaded stack.env: look again.
    gateway = args.gateway or os.environ.get("VITAE_GATEWAY_URL")
    key = args.key or os.environ.get("VITAE_WORKER_KEY")
    if not gateway or not key:
        raise SystemExit("enrich-worker needs --gateway and --key (or VITAE_GATEWAY_URL / VITAE_WORKER_KEY)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs request URLs at INFO, and input URLs carry SAS signatures.
    for noisy in ("httpx", "mlflow", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from enrichers.compatibility import ENRICHER_TYPE, build_scorer, compute
    from enrichers.worker import EnrichmentWorker, WorkerConfig

    scorer = build_scorer(get_settings(), threads=args.threads, quantized=args.int8)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        config = WorkerConfig(gateway_url=gateway, key=key, enricher_types=args.types or [ENRICHER_TYPE])
        return await EnrichmentWorker(config, compute(scorer), stop=stop).run(once=args.once)

    return asyncio.run(main())

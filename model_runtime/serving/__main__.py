"""``python -m model_runtime.serving --port N``: run the scoring server in the foreground."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model_runtime.serving", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--no-bootstrap",
        action="store_true",
        help="do not create blue = the production version when no endpoint state exists yet",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("azure", "httpx", "mlflow", "alembic", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    import uvicorn

    from model_runtime.serving.endpoint import create_scoring_app
    from vitae.settings import get_settings

    app = create_scoring_app(get_settings(), bootstrap=not args.no_bootstrap)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

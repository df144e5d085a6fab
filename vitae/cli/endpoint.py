"""``vitae endpoint``: the scoring endpoint's control plane (Option B serving).

Like ``az ml online-endpoint show|update --traffic`` and ``az ml online-deployment update``,
against the local scoring server (``VITAE_SCORING_URL``, ``VITAE_SCORING_ADMIN_KEY``)::

    vitae endpoint show
    vitae endpoint deploy green --version 4 --reason "candidate"
    vitae endpoint traffic blue=90 green=10 [--mirror green=10 | --no-mirror] --reason "canary"
    vitae endpoint delete green
    vitae endpoint score resume.txt --count 200      # which deployment/version answered

The server validates each change (only ``stage=prod`` versions deploy, traffic adds up to
100, mirror rules) and records it in the model audit trail before applying it; ``--actor``
defaults to ``VITAE_MODEL_AUDIT_ACTOR`` or the OS user. Workers need no restart.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    endpoint = subparsers.add_parser("endpoint", help="scoring endpoint: deployments, traffic (Option B serving)")
    sub = endpoint.add_subparsers(dest="endpoint_command", required=True)

    show = sub.add_parser("show", help="deployments, versions, traffic, mirror traffic, readiness")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)

    deploy = sub.add_parser("deploy", help="point a deployment at a model version (stage=prod only)")
    deploy.add_argument("name", help="deployment name, e.g. blue or green")
    deploy.add_argument("--version", required=True, help="registered model version")
    _who(deploy)
    deploy.set_defaults(handler=_deploy)

    traffic = sub.add_parser("traffic", help="set the traffic split, e.g. blue=90 green=10")
    traffic.add_argument("split", nargs="+", metavar="NAME=PERCENT")
    mirror = traffic.add_mutually_exclusive_group()
    mirror.add_argument("--mirror", action="append", metavar="NAME=PERCENT", help="copy a share of live traffic")
    mirror.add_argument("--no-mirror", action="store_true", help="stop mirroring")
    _who(traffic)
    traffic.set_defaults(handler=_traffic)

    delete = sub.add_parser("delete", help="remove a deployment that gets no traffic")
    delete.add_argument("name")
    _who(delete)
    delete.set_defaults(handler=_delete)

    score = sub.add_parser("score", help="score text files through the endpoint (as the worker does)")
    score.add_argument("files", nargs="+", help="text files ('-' for stdin)")
    score.add_argument("--count", type=int, default=1, help="send each file this many times; prints the split")
    score.add_argument("--deployment", help="pin a deployment (azureml-model-deployment header)")
    score.set_defaults(handler=_score)


def _who(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", help="why (recorded in the audit trail)")
    parser.add_argument("--actor", help="who (default: VITAE_MODEL_AUDIT_ACTOR or the OS user)")


def _settings() -> Any:
    from vitae.settings import get_settings

    return get_settings()


def _base_url(settings: Any) -> str:
    return str(settings.scoring_url).rstrip("/").removesuffix("/score")


def _actor(args: argparse.Namespace) -> str:
    if getattr(args, "actor", None):
        return str(args.actor)
    from vitae.stores.model_audit import default_actor

    return default_actor()


def _admin(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """One control-plane call; prints the server's error and returns None when refused."""
    settings = _settings()
    url = _base_url(settings) + path
    headers = {"Authorization": f"Bearer {settings.scoring_admin_key.get_secret_value()}"}
    try:
        response = httpx.request(method, url, json=body, headers=headers, timeout=60)
    except httpx.HTTPError as exc:
        print(f"error: cannot reach the scoring endpoint at {url}: {exc}", file=sys.stderr)
        print("  (is it running? `VITAE_MODEL_SERVING=endpoint vitae up` starts one)", file=sys.stderr)
        return None
    if response.status_code != 200:
        try:
            error = response.json()["error"]
            print(f"refused ({response.status_code} {error['code']}): {error['message']}", file=sys.stderr)
        except (ValueError, KeyError, TypeError):
            print(f"refused ({response.status_code}): {response.text[:500]}", file=sys.stderr)
        return None
    return response.json()


def render(endpoint: dict[str, Any]) -> str:
    ready = "ready" if endpoint.get("ready") else "NOT READY"
    lines = [f"endpoint {endpoint['name']} ({endpoint['model_name']}), revision {endpoint['revision']}, {ready}"]
    columns = ("traffic", "mirror", "loaded", "requests", "mirrored")
    lines.append(f"  {'deployment':<12} {'version':>7} " + " ".join(f"{c:>{max(6, len(c))}}" for c in columns))
    status = endpoint.get("deployment_status", {})
    for name, spec in endpoint["deployments"].items():
        item = status.get(name, {})
        lines.append(
            f"  {name:<12} {spec['model_version']:>7} {endpoint['traffic'].get(name, 0):>6}% "
            f"{endpoint['mirror_traffic'].get(name, 0):>5}% {'yes' if item.get('loaded') else 'no':>6} "
            f"{item.get('requests', 0):>8} {item.get('mirrored', 0):>8}"
        )
        if item.get("error"):
            lines.append(f"    load error: {item['error']}")
    if not endpoint["deployments"]:
        lines.append("  (no deployments)")
    return "\n".join(lines)


def _print_result(result: dict[str, Any] | None, *, as_json: bool = False) -> int:
    if result is None:
        return 1
    endpoint = result.get("endpoint", result)
    if as_json:
        print(json.dumps(endpoint, indent=2, sort_keys=True))
    else:
        if "changed" in result and not result["changed"]:
            print("no change")
        print(render(endpoint))
    return 0


def _show(args: argparse.Namespace) -> int:
    return _print_result(_admin("GET", "/admin/endpoint"), as_json=args.json)


def _deploy(args: argparse.Namespace) -> int:
    body = {"model_version": str(args.version), "actor": _actor(args), "reason": args.reason}
    return _print_result(_admin("PUT", f"/admin/deployments/{args.name}", body))


def _traffic(args: argparse.Namespace) -> int:
    from model_runtime.serving.state import StateError, parse_assignments

    try:
        split = parse_assignments(args.split)
        mirror = {} if args.no_mirror else (parse_assignments(args.mirror) if args.mirror else None)
    except StateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    body: dict[str, Any] = {"traffic": split, "actor": _actor(args), "reason": args.reason}
    if mirror is not None:
        body["mirror_traffic"] = mirror
    return _print_result(_admin("PUT", "/admin/traffic", body))


def _delete(args: argparse.Namespace) -> int:
    body = {"actor": _actor(args), "reason": args.reason}
    return _print_result(_admin("DELETE", f"/admin/deployments/{args.name}", body))


def _score(args: argparse.Namespace) -> int:
    import asyncio

    from model_runtime.scoring import EndpointScorer, ScoringError

    settings = _settings()
    texts = [sys.stdin.read() if f == "-" else Path(f).read_text(encoding="utf-8") for f in args.files]

    async def run() -> int:
        scorer = EndpointScorer(
            settings.scoring_url,
            settings.scoring_key.get_secret_value(),
            deployment=args.deployment or settings.scoring_deployment,
            timeout=settings.scoring_timeout_seconds,
        )
        served: Counter[tuple[str, str]] = Counter()
        latencies: list[float] = []
        try:
            for name, text in zip(args.files, texts, strict=True):
                for i in range(max(1, args.count)):
                    started = time.perf_counter()
                    result = await scorer.score(text)
                    latencies.append((time.perf_counter() - started) * 1000)
                    served[(result.deployment or "?", result.model_version)] += 1
                    if args.count == 1 and i == 0:
                        print(
                            json.dumps(
                                {
                                    "file": name,
                                    "deployment": result.deployment,
                                    "modelName": result.model_name,
                                    "modelVersion": result.model_version,
                                    "entities": len(result.entities),
                                    "fields": result.fields,
                                }
                            )
                        )
        except ScoringError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            await scorer.aclose()
        total = sum(served.values())
        latencies.sort()
        summary = {
            "requests": total,
            "served": {f"{d} (v{v})": n for (d, v), n in sorted(served.items())},
            "share": {f"{d} (v{v})": round(n / total, 3) for (d, v), n in sorted(served.items())},
            "p50_ms": round(latencies[len(latencies) // 2], 2),
        }
        print(json.dumps(summary))
        return 0

    return asyncio.run(run())

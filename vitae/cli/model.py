"""``vitae model``: train, register, promote and list resume-extraction model versions."""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path
from typing import Any


def _registry(settings: Any) -> Any:
    from model_runtime.registry import registry_from_settings

    return registry_from_settings(settings)


def _data_dir(args: argparse.Namespace, settings: Any) -> Path | None:
    if args.data_dir:
        return Path(args.data_dir)
    return settings.training_data_dir


def _train(args: argparse.Namespace) -> int:
    from model_runtime.training import train_model
    from vitae.settings import get_settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    registry = _registry(settings)
    work = settings.training_dir
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="train-", dir=work) as tmp:
        result = train_model(Path(tmp) / "model", data_dir=_data_dir(args, settings), seed=args.seed)
        ref = registry.register(result)
    if args.promote:
        registry.promote(ref.version, args.alias or settings.model_alias)
    summary = {
        "model": ref.name,
        "version": ref.version,
        "promoted": (args.alias or settings.model_alias) if args.promote else None,
        "dataSource": result.data_source,
        "datasetHash": result.dataset_hash[:12],
        "metrics": {k: v for k, v in result.metrics.items() if k.startswith("f1_") or k.endswith("seconds")},
    }
    print(json.dumps(summary, indent=2))
    return 0


def _promote(args: argparse.Namespace) -> int:
    from vitae.settings import get_settings

    settings = get_settings()
    alias = args.alias or settings.model_alias
    _registry(settings).promote(str(args.version), alias)
    print(f"{settings.model_name} v{args.version} -> @{alias}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from vitae.settings import get_settings

    settings = get_settings()
    versions = _registry(settings).list_versions()
    if args.json:
        print(json.dumps(versions, indent=2))
        return 0
    if not versions:
        print(f"no versions of {settings.model_name} registered")
        return 0
    print(f"{'ver':>4}  {'aliases':<20} {'stage':<9} {'microF1':<8} {'source':<12} {'dataset':<12} {'code':<14} run")
    for v in versions:
        tags = v["tags"]
        print(
            f"{v['version']:>4}  {','.join(v['aliases']) or '-':<20} {tags.get('stage', '-'):<9} "
            f"{tags.get('micro_f1', '-'):<8} {tags.get('data_source', '-'):<12} "
            f"{tags.get('dataset_hash', '-')[:12]:<12} {tags.get('code_version', '-')[:14]:<14} {v['run_id']}"
        )
    return 0


def register(subparsers: Any) -> None:
    model = subparsers.add_parser("model", help="train, register and list extraction models")
    sub = model.add_subparsers(dest="model_command", required=True)

    train = sub.add_parser("train", help="train a model, register it in MLflow (optionally promote)")
    train.add_argument(
        "--data-dir",
        help="shared data folder (default: ../shared/data beside the repo)",
    )
    train.add_argument(
        "--promote",
        action="store_true",
        help="point the serving alias at the new version",
    )
    train.add_argument("--alias", help="alias to promote to (default: settings.model_alias)")
    train.add_argument("--seed", type=int, default=13)
    train.set_defaults(handler=_train)

    promote = sub.add_parser("promote", help="point an alias at a registered version")
    promote.add_argument("version")
    promote.add_argument("--alias", help="default: settings.model_alias")
    promote.set_defaults(handler=_promote)

    listing = sub.add_parser("list", help="registered versions with aliases, tags and lineage")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)

"""``vitae model``: train, register, promote, list and evaluate model versions; ``vitae extract``.

``vitae extract`` runs the production model (registry alias) over PDF or text files and prints
one JSON object per input. ``vitae model evaluate`` scores a registered version on a DataTurks
JSONL file (document-level value F1), side by side with the production version.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
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


# --- extract ----------------------------------------------------------------------------------

_PDF_MAGIC = b"%PDF-"


def _read_input(path: Path, limits: Any) -> str:
    """The text of one input: PDF text extraction, or the file's UTF-8 content exactly as read."""
    from vitae.pdf_text import extract_text

    data = path.read_bytes()
    if path.suffix.lower() == ".pdf" or data.startswith(_PDF_MAGIC):
        return extract_text(data, limits).text
    return data.decode("utf-8")


def _input_error(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def _extract_one(path: Path, predictor: Any, limits: Any) -> dict[str, Any]:
    from vitae.pdf_text import ExtractionError

    out: dict[str, Any] = {"source": str(path)}
    try:
        text = _read_input(path, limits)
    except ExtractionError as exc:
        out["error"] = _input_error(str(exc.code), exc.message)
        return out
    except FileNotFoundError:
        out["error"] = _input_error("FILE_NOT_FOUND", "no such file")
        return out
    except IsADirectoryError:
        out["error"] = _input_error("NOT_A_FILE", "is a directory")
        return out
    except UnicodeDecodeError as exc:
        out["error"] = _input_error("TEXT_NOT_UTF8", f"not UTF-8 text (byte offset {exc.start})")
        return out
    except OSError as exc:
        out["error"] = _input_error("READ_ERROR", type(exc).__name__)
        return out
    prediction = predictor.predict(text)
    out["text_length"] = len(text)
    out["model"] = {"name": prediction.model_name, "version": prediction.model_version}
    out["entities"] = [
        {
            "label": e.label,
            "text": e.text,
            "start": e.start,
            "end": e.end,
            "confidence": round(float(e.confidence), 4),
        }
        for e in prediction.entities
    ]
    return out


def _production_predictor(settings: Any) -> Any:
    """The predictor behind the serving alias, loaded through the registry (never a loose path)."""
    from model_runtime.registry import ProductionModel

    served = ProductionModel(_registry(settings), settings.model_alias, settings.model_refresh_seconds)
    try:
        return served.get()
    except LookupError:
        return None


def _extract(args: argparse.Namespace) -> int:
    from vitae.pdf_text import ExtractionLimits
    from vitae.settings import get_settings

    settings = get_settings()
    predictor = _production_predictor(settings)
    if predictor is None:
        print(
            f"no version of {settings.model_name} has alias @{settings.model_alias}; "
            "run `vitae model train --promote` (or `vitae up`) first",
            file=sys.stderr,
        )
        return 2
    limits = ExtractionLimits.from_settings(settings)
    failed = 0
    for name in args.files:
        result = _extract_one(Path(name), predictor, limits)
        failed += "error" in result
        if args.format == "jsonl":
            print(json.dumps(result, ensure_ascii=False), flush=True)
        else:
            print(json.dumps(result, ensure_ascii=False, indent=2), flush=True)
    return 1 if failed else 0


# --- evaluate -------------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    return f"{value:.3f}"


def _print_evaluation(summary: dict[str, Any]) -> None:
    cand = summary["candidate"]
    prod = summary.get("production")
    title = f"{summary['data']['documents']} documents; candidate v{cand['version']}"
    if prod:
        title += f" vs production v{prod['version']} (@{prod['alias']})"
    print(title)
    header = f"{'label':<20} {'support':>7} {'P':>6} {'R':>6} {'F1':>6}"
    if prod:
        header += f" {'prodF1':>7} {'delta':>7}"
    print(header)
    rows = [*cand["report"]["labels"].items(), ("micro", cand["report"]["micro"])]
    for label, row in rows:
        p, r, f = (_fmt(row[k]) for k in ("precision", "recall", "f1"))
        line = f"{label:<20} {row['support']:>7} {p:>6} {r:>6} {f:>6}"
        if prod:
            other = prod["report"]["micro"] if label == "micro" else prod["report"]["labels"].get(label)
            if other is None:
                line += f" {'-':>7} {'-':>7}"
            else:
                line += f" {_fmt(other['f1']):>7} {row['f1'] - other['f1']:>+7.3f}"
        print(line)


def _evaluate(args: argparse.Namespace) -> int:
    from model_runtime.evaluation import evaluation_report, load_eval_docs
    from vitae.settings import get_settings

    settings = get_settings()
    registry = _registry(settings)
    path = Path(args.data)
    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    docs, repair = load_eval_docs(path)
    production = registry.resolve(settings.model_alias)
    if args.version:
        candidate = registry.get_version(str(args.version))
    elif production is not None:
        candidate = production
    else:
        print(f"no version given and no version has alias @{settings.model_alias}", file=sys.stderr)
        return 2

    def run(ref: Any) -> dict[str, Any]:
        predictor = registry.load(ref)
        t0 = time.perf_counter()
        report = evaluation_report(predictor, docs)
        return {
            "name": ref.name,
            "version": ref.version,
            "seconds": round(time.perf_counter() - t0, 3),
            "report": report,
        }

    summary: dict[str, Any] = {
        "data": {"file": str(path), "documents": len(docs), "repair": repair},
        "metric": "document-level value F1 (sets of normalised texts per document and label)",
        "candidate": run(candidate),
        "production": None,
    }
    if production is not None and production.version != candidate.version:
        summary["production"] = {**run(production), "alias": settings.model_alias}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_evaluation(summary)
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

    evaluate = sub.add_parser(
        "evaluate",
        help="per-label precision/recall/F1 of a version on a DataTurks JSONL file (vs production)",
    )
    evaluate.add_argument("--data", required=True, help="DataTurks-format JSONL (content + annotation)")
    evaluate.add_argument("--version", help="version to evaluate (default: the production alias)")
    evaluate.add_argument("--json", action="store_true", help="machine-readable output")
    evaluate.set_defaults(handler=_evaluate)

    extract = subparsers.add_parser(
        "extract",
        help="run the production model over PDF or text files; one JSON object per input",
    )
    extract.add_argument("files", nargs="+", metavar="FILE")
    extract.add_argument(
        "--format",
        choices=("json", "jsonl"),
        default="json",
        help="json: one indented object per input; jsonl: one compact object per line",
    )
    extract.set_defaults(handler=_extract)

"""``vitae model``: train, evaluate, promote, roll back, list and audit model versions; ``vitae extract``.

``vitae model promote`` runs the quality gate (``model_runtime.promotion``) and only then tags
``stage=prod`` and moves the serving alias; refusals exit 1. Promotions, refusals and rollbacks
are recorded in the append-only ``model_audit`` table (``vitae model audit``).
``vitae extract`` runs the production model (registry alias) over PDF or text files and prints
one JSON object per input. ``vitae model evaluate`` scores a registered version on the gate's
fixed evaluation set or a DataTurks JSONL file (document-level value F1), side by side with the
production version.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path
from typing import Any


def _registry(settings: Any) -> Any:
    from model_runtime.registry import registry_from_settings

    return registry_from_settings(settings)


def _data_dir(args: argparse.Namespace, settings: Any) -> Path | None:
    if args.data_dir:
        return Path(args.data_dir)
    return settings.training_data_dir


def _actor(args: argparse.Namespace, settings: Any) -> str:
    from vitae.stores.model_audit import default_actor

    return (getattr(args, "actor", None) or "").strip() or default_actor(settings.model_audit_actor)


def _run_promotion(registry: Any, version: str, alias: str, args: argparse.Namespace, settings: Any) -> int:
    """Gate + promote; prints the decision. 0 promoted, 1 refused (audited), 2 could not run."""
    from model_runtime.promotion import AlreadyServing, PromotionError, PromotionRefused, format_decision, promote

    try:
        outcome = promote(registry, version, alias=alias, actor=_actor(args, settings), reason=args.reason)
    except AlreadyServing as exc:
        print(str(exc))
        return 0
    except PromotionRefused as exc:
        if exc.decision is not None:
            print(format_decision(exc.decision), file=sys.stderr)
        print(
            f"REFUSED: {settings.model_name} v{version} was not promoted (audit #{exc.audit_id}); "
            f"@{alias} is unchanged",
            file=sys.stderr,
        )
        return 1
    except PromotionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_decision(outcome.decision))
    was = f"v{outcome.previous}" if outcome.previous else "none"
    print(
        f"{settings.model_name} v{outcome.version} -> @{alias} (was {was}; stage=prod; "
        f"audit #{outcome.audit_id}; gate report {outcome.gate_artifact})"
    )
    return 0


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
    alias = args.alias or settings.model_alias
    summary = {
        "model": ref.name,
        "version": ref.version,
        "promoted": None,
        "dataSource": result.data_source,
        "datasetHash": result.dataset_hash[:12],
        "metrics": {k: v for k, v in result.metrics.items() if k.startswith("f1_") or k.endswith("seconds")},
    }
    code = 0
    if args.promote:
        # The gate's verdict goes to stderr, so stdout stays the JSON summary.
        with contextlib.redirect_stdout(sys.stderr):
            code = _run_promotion(registry, ref.version, alias, args, settings)
        summary["promoted"] = alias if code == 0 else None
    print(json.dumps(summary, indent=2))
    return code


def _promote(args: argparse.Namespace) -> int:
    from vitae.settings import get_settings

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    alias = args.alias or settings.model_alias
    return _run_promotion(_registry(settings), str(args.version), alias, args, settings)


def _rollback(args: argparse.Namespace) -> int:
    from model_runtime.promotion import PromotionError, PromotionRefused, rollback
    from vitae.settings import get_settings

    settings = get_settings()
    alias = args.alias or settings.model_alias
    try:
        outcome = rollback(
            _registry(settings),
            alias=alias,
            actor=_actor(args, settings),
            reason=args.reason,
            to_version=args.to,
        )
    except PromotionRefused as exc:
        print(f"REFUSED: {exc} (audit #{exc.audit_id}); @{alias} is unchanged", file=sys.stderr)
        return 1
    except PromotionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"{settings.model_name} @{alias}: v{outcome.previous or '-'} -> v{outcome.version} "
        f"(rollback; audit #{outcome.audit_id})"
    )
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
    print(
        f"{'ver':>4}  {'aliases':<12} {'stage':<6} {'gate':<16} {'microF1':<8} {'source':<12} "
        f"{'dataset':<12} {'config':<12} {'code':<14} run"
    )
    for v in versions:
        tags, gate = v["tags"], v["gate"]
        verdict = "-"
        if gate.get("result"):
            verdict = f"{gate['result']}" + (f" vs v{gate['vs']}" if gate.get("vs") not in (None, "none") else "")
        print(
            f"{v['version']:>4}  {','.join(v['aliases']) or '-':<12} {v['stage'] or '-':<6} {verdict:<16} "
            f"{tags.get('micro_f1', '-'):<8} {tags.get('data_source', '-'):<12} "
            f"{tags.get('dataset_hash', '-')[:12]:<12} {tags.get('config_hash', '-')[:12]:<12} "
            f"{tags.get('code_version', '-')[:14]:<14} {v['run_id']}"
        )
    return 0


def _audit(args: argparse.Namespace) -> int:
    from model_runtime.promotion import GovernanceUnavailable
    from vitae.settings import get_settings

    settings = get_settings()
    registry = _registry(settings)
    try:
        events = registry.governance.events(settings.model_name, limit=args.limit)
    except GovernanceUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(events, indent=2, default=str))
        return 0
    if not events:
        print(f"no audit events for {settings.model_name}")
        return 0
    print(f"{'id':>5}  {'at (UTC)':<19} {'action':<17} {'version':<9} {'from':<6} {'target':<12} {'actor':<12} reason")
    for e in reversed(events):
        at = e["at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if hasattr(e["at"], "astimezone") else str(e["at"])
        reason = e["reason"] or ""
        refused = (e["details"] or {}).get("reasons") or (
            [e["details"]["refused"]] if (e["details"] or {}).get("refused") else []
        )
        if e["action"].endswith("_refused") and refused:
            reason = (reason + " | " if reason else "") + "; ".join(refused)
        print(
            f"{e['id']:>5}  {at:<19} {e['action']:<17} {e['version'] or '-':<9} {e['from_version'] or '-':<6} "
            f"{e['target'] or '-':<12} {e['actor']:<12} {reason}"
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


def _extract_one(path: Path, predictor: Any, limits: Any, fields: bool = False) -> dict[str, Any]:
    from model_runtime.structure import structure_entities
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
    if fields:  # the same grouping as the Cosmos result document
        out["fields"] = structure_entities(prediction.entities, text)
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
        result = _extract_one(Path(name), predictor, limits, fields=args.fields)
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


def _gate_dry_run(registry: Any, args: argparse.Namespace, settings: Any) -> int:
    """The quality gate's verdict for a version, without promoting or auditing anything."""
    from model_runtime.promotion import PromotionError, format_decision, run_gate

    if args.data:
        print("--gate always uses the fixed evaluation set (held-out split); drop --data", file=sys.stderr)
        return 2
    if not args.version:
        print("--gate needs --version", file=sys.stderr)
        return 2
    try:
        decision = run_gate(registry, str(args.version), alias=settings.model_alias)
    except PromotionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(decision.as_dict(), indent=2))
    else:
        print(format_decision(decision))
    return 0 if decision.passed else 1


def _evaluate(args: argparse.Namespace) -> int:
    from model_runtime.data import DataFormatError
    from model_runtime.evaluation import evaluation_report, load_eval_docs
    from vitae.settings import get_settings

    settings = get_settings()
    registry = _registry(settings)
    if args.gate:
        return _gate_dry_run(registry, args, settings)
    data: dict[str, Any]
    if args.data:
        path = Path(args.data)
        if not path.is_file():
            print(f"no such file: {path}", file=sys.stderr)
            return 2
        try:
            docs, repair = load_eval_docs(path)
        except DataFormatError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        data = {"file": str(path), "documents": len(docs), "repair": repair}
    else:
        from model_runtime.promotion import evaluation_set

        held_out = evaluation_set(registry.data_dir)
        docs = list(held_out.docs)
        data = {"evaluationSet": held_out.describe(), "documents": len(docs)}
    production = registry.resolve(settings.model_alias)
    if args.version:
        candidate = registry.get_version(str(args.version))
    elif production is not None:
        candidate = production
    else:
        print(
            f"no version given and no version of {settings.model_name} has alias @{settings.model_alias}; "
            "run `vitae model train --promote` (or `vitae up`) first",
            file=sys.stderr,
        )
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
        "data": data,
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
    model = subparsers.add_parser("model", help="train, evaluate, promote, roll back and list extraction models")
    sub = model.add_subparsers(dest="model_command", required=True)

    def audited(parser: argparse.ArgumentParser, *, reason_required: bool = False) -> None:
        parser.add_argument("--reason", required=reason_required, help="why (kept in the audit trail)")
        parser.add_argument(
            "--actor", help="who (default: VITAE_MODEL_AUDIT_ACTOR, else the OS user running the command)"
        )

    train = sub.add_parser("train", help="train a model and register it in MLflow with its lineage")
    train.add_argument(
        "--data-dir",
        help="shared data folder (default: ../shared/data beside the repo)",
    )
    train.add_argument(
        "--promote",
        action="store_true",
        help="then promote it through the quality gate (exit 1 when refused)",
    )
    train.add_argument("--alias", help="alias to promote to (default: settings.model_alias)")
    train.add_argument("--seed", type=int, default=13)
    audited(train)
    train.set_defaults(handler=_train)

    promote = sub.add_parser(
        "promote",
        help="run the quality gate; on pass tag stage=prod and move the serving alias (audited; refusals too)",
    )
    promote.add_argument("version")
    promote.add_argument("--alias", help="default: settings.model_alias")
    audited(promote)
    promote.set_defaults(handler=_promote)

    back = sub.add_parser(
        "rollback",
        help="point the serving alias back at the previous (or the given) stage=prod version (audited)",
    )
    back.add_argument("--to", metavar="VERSION", help="a stage=prod version (default: the one promoted before)")
    back.add_argument("--alias", help="default: settings.model_alias")
    audited(back, reason_required=True)
    back.set_defaults(handler=_rollback)

    listing = sub.add_parser("list", help="registered versions: stage, aliases, gate result and lineage")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)

    audit = sub.add_parser("audit", help="the append-only trail of promotions, refusals, rollbacks, deployments")
    audit.add_argument("--limit", type=int, default=50, help="newest N events (default 50)")
    audit.add_argument("--json", action="store_true")
    audit.set_defaults(handler=_audit)

    evaluate = sub.add_parser(
        "evaluate",
        help="per-label precision/recall/F1 of a version (vs production); --gate: the promotion gate's verdict",
    )
    evaluate.add_argument(
        "--data",
        help="DataTurks-format JSONL (content + annotation); default: the gate's fixed evaluation set",
    )
    evaluate.add_argument("--version", help="version to evaluate (default: the production alias)")
    evaluate.add_argument(
        "--gate", action="store_true", help="run the quality gate (dry run: nothing promoted or audited)"
    )
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
    extract.add_argument(
        "--fields",
        action="store_true",
        help="also print the structured result (contact, experience with dates, education, skills)",
    )
    extract.set_defaults(handler=_extract)

"""K-fold cross-validation on the training split (the held-out split stays unseen).

``python -m model_runtime.cv [--folds 5] [--json]`` prints per-label document-level value F1,
mean ± standard deviation over the folds, plus the micro F1 of the pooled counts. Only numbers
are printed, never document text.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from .data import LabeledDoc
from .entities import LABELS
from .metrics import Counts
from .training import TrainConfig, load_corpus, train_model


def _folds(docs: list[LabeledDoc], k: int, seed: int) -> list[list[LabeledDoc]]:
    order = sorted(docs, key=lambda d: d.doc_id)
    random.Random(seed + 1).shuffle(order)
    return [order[i::k] for i in range(k)]


def cross_validate(
    data_dir: Path | None = None,
    *,
    folds: int = 5,
    seed: int = 13,
    config: TrainConfig | None = None,
) -> dict[str, Any]:
    config = config or TrainConfig()
    train_docs, extra_docs, _held_out, source, stats, skills = load_corpus(data_dir, config, seed)
    parts = _folds(train_docs, folds, seed)
    per_fold: list[dict[str, float]] = []
    pooled: dict[str, Counts] = {}
    seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="vitae-cv-") as tmp:
        for i, test in enumerate(parts):
            train = [d for j, part in enumerate(parts) if j != i for d in part]
            result = train_model(
                Path(tmp) / f"fold{i}",
                seed=seed,
                config=config,
                corpus=(train, extra_docs, test, source, stats, skills),
            )
            seconds.append(result.metrics["train_seconds"])
            per_fold.append(result.metrics)
            for label, c in result.report["per_label"].items():
                total = pooled.setdefault(label, Counts())
                total.tp += c["tp"]
                total.fp += c["fp"]
                total.fn += c["fn"]
    labels = [lb for lb in LABELS if lb in pooled]

    def summary(key: str) -> dict[str, float]:
        values = [m[key] for m in per_fold if key in m]
        return {
            "mean": round(statistics.fmean(values), 4),
            "std": round(statistics.pstdev(values), 4) if len(values) > 1 else 0.0,
        }

    micro = Counts(*(sum(getattr(c, f) for c in pooled.values()) for f in ("tp", "fp", "fn")))
    return {
        "folds": folds,
        "data_source": source,
        "n_docs": len(train_docs),
        "labels": {lb: {**summary(f"f1_{lb}"), "support": pooled[lb].tp + pooled[lb].fn} for lb in labels},
        "micro": summary("f1_micro"),
        "micro_pooled": round(micro.prf()[2], 4),
        "train_seconds": {"mean": round(statistics.fmean(seconds), 2), "max": round(max(seconds), 2)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--order-seed", type=int, help="shuffle training documents differently (folds unchanged)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    config = TrainConfig()
    if args.epochs:
        config = replace(config, epochs=args.epochs)
    if args.order_seed is not None:
        config = replace(config, order_seed=args.order_seed)
    out = cross_validate(args.data_dir, folds=args.folds, seed=args.seed, config=config)
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"{out['folds']}-fold CV on {out['n_docs']} training docs ({out['data_source']})")
    for label, row in out["labels"].items():
        print(f"  {label:<20} {row['mean']:.3f} ± {row['std']:.3f}  (support {row['support']})")
    m = out["micro"]
    print(f"  {'micro':<20} {m['mean']:.3f} ± {m['std']:.3f}  (pooled {out['micro_pooled']:.3f})")
    print(f"  train seconds/fold: mean {out['train_seconds']['mean']}, max {out['train_seconds']['max']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

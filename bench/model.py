"""Model benchmark: Vitae's tagger vs a spaCy NER peer on the same DataTurks split.

    .venv/bin/python -m bench.model [--data-dir ../shared/data] [--spacy-epochs 15] [--json]

Both models train on the same training split and are scored on the same held-out split with the
same metric (document-level value F1, :mod:`model_runtime.evaluation`). The peer is a blank
English spaCy pipeline with an ``ner`` component (``pip install spacy``; optional ``bench`` extra).
Also reported: Vitae's predictor latency p50/p95 at batch 1, documents per second and model load
time. Only numbers are printed, never document text. Timings depend on machine load.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from model_runtime.data import LabeledDoc, resolve_overlaps
from model_runtime.entities import LABELS, Entity, Prediction
from model_runtime.evaluation import evaluation_report
from model_runtime.predictor import ResumePredictor
from model_runtime.training import TrainConfig, load_corpus, train_model


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def _timed_predictions(predictor: Any, docs: Sequence[LabeledDoc], repeats: int) -> dict[str, float]:
    latencies: list[float] = []
    t0 = time.perf_counter()
    for _ in range(repeats):
        for doc in docs:
            t = time.perf_counter()
            predictor.predict(doc.text)
            latencies.append((time.perf_counter() - t) * 1000)
    total = time.perf_counter() - t0
    return {
        "p50_ms": round(_percentile(latencies, 0.5), 1),
        "p95_ms": round(_percentile(latencies, 0.95), 1),
        "docs_per_s": round(len(latencies) / total, 1) if total else 0.0,
    }


# --- the spaCy peer -----------------------------------------------------------------------------


class SpacyPredictor:
    def __init__(self, nlp: Any) -> None:
        self.nlp = nlp

    def predict(self, text: str) -> Prediction:
        doc = self.nlp(text)
        ents = [Entity(e.label_, e.text, e.start_char, e.end_char, 1, 1.0, "model") for e in doc.ents if e.text.strip()]
        return Prediction("spacy-blank-en-ner", "bench", ents)


def train_spacy(docs: Sequence[LabeledDoc], epochs: int, seed: int) -> tuple[Any, dict[str, int]]:
    import spacy
    from spacy.training import Example
    from spacy.util import fix_random_seed, minibatch

    fix_random_seed(seed)
    nlp = spacy.blank("en")
    ner: Any = nlp.add_pipe("ner")
    for label in LABELS:
        ner.add_label(label)
    examples = []
    stats = {"spans": 0, "misaligned": 0}
    for d in docs:
        doc = nlp.make_doc(d.text)
        ents = []
        for label, s, e in resolve_overlaps(d.spans):
            stats["spans"] += 1
            span = doc.char_span(s, e, label=label, alignment_mode="contract")
            if span is None or not span.text.strip():
                stats["misaligned"] += 1
                continue
            ents.append(span)
        # Token-level overlaps can remain after "contract" alignment: keep the first of each.
        kept, last_end = [], -1
        for span in sorted(ents, key=lambda sp: (sp.start, sp.end)):
            if span.start >= last_end:
                kept.append(span)
                last_end = span.end
        doc.ents = kept
        examples.append(Example(nlp.make_doc(d.text), doc))
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(examples)
        for batch in minibatch(examples, size=8):
            nlp.update(batch, sgd=optimizer, drop=0.2)
    return nlp, stats


# --- main -------------------------------------------------------------------------------------


def run(data_dir: Path | None, spacy_epochs: int, seed: int, repeats: int) -> dict[str, Any]:
    config = TrainConfig()
    train_docs, _extra, test_docs, source, _stats, _skills = load_corpus(data_dir, config, seed)
    out: dict[str, Any] = {"data_source": source, "n_train": len(train_docs), "n_test": len(test_docs)}
    with tempfile.TemporaryDirectory(prefix="vitae-bench-") as tmp:
        t0 = time.perf_counter()
        result = train_model(Path(tmp) / "model", data_dir=data_dir, seed=seed, config=config)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        predictor = ResumePredictor.load(result.model_dir, name="vitae", version="bench")
        load_s = time.perf_counter() - t0
        predictor.predict("warm up")
        out["vitae"] = {
            "train_seconds": round(train_s, 1),
            "load_seconds": round(load_s, 3),
            "model_bytes": int(result.metrics["model_bytes"]),
            "report": evaluation_report(predictor, test_docs),
            **_timed_predictions(predictor, test_docs, repeats),
        }
    try:
        import spacy
    except ImportError:
        out["spacy"] = {"skipped": "spaCy is not installed (pip install spacy)"}
        return out
    t0 = time.perf_counter()
    nlp, align = train_spacy(train_docs, spacy_epochs, seed)
    train_s = time.perf_counter() - t0
    peer = SpacyPredictor(nlp)
    peer.predict("warm up")
    out["spacy"] = {
        "version": spacy.__version__,
        "epochs": spacy_epochs,
        "train_seconds": round(train_s, 1),
        "alignment": align,
        "report": evaluation_report(peer, test_docs),
        **_timed_predictions(peer, test_docs, repeats),
    }
    return out


def _print(out: dict[str, Any]) -> None:
    v, s = out["vitae"], out.get("spacy", {})
    print(f"held-out split: {out['n_test']} docs (trained on {out['n_train']}, {out['data_source']})")
    has_peer = "report" in s
    print(f"{'label':<20} {'support':>7} {'vitae F1':>9}" + (f" {'spaCy F1':>9}" if has_peer else ""))
    rows = [*v["report"]["labels"].items(), ("micro", v["report"]["micro"])]
    for label, row in rows:
        line = f"{label:<20} {row['support']:>7} {row['f1']:>9.3f}"
        if has_peer:
            other = s["report"]["micro"] if label == "micro" else s["report"]["labels"].get(label)
            line += f" {other['f1']:>9.3f}" if other else f" {'-':>9}"
        print(line)
    print(
        f"vitae: {v['docs_per_s']} docs/s, latency p50 {v['p50_ms']} ms p95 {v['p95_ms']} ms (batch 1), "
        f"load {v['load_seconds']} s, train {v['train_seconds']} s, model {v['model_bytes'] / 1e6:.1f} MB"
    )
    if has_peer:
        print(
            f"spaCy {s['version']}: {s['docs_per_s']} docs/s, latency p50 {s['p50_ms']} ms p95 {s['p95_ms']} ms, "
            f"train {s['train_seconds']} s ({s['epochs']} epochs)"
        )
    else:
        print(f"spaCy: {s.get('skipped', 'not run')}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--spacy-epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--repeats", type=int, default=3, help="passes over the held-out docs for latency")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    out = run(args.data_dir, args.spacy_epochs, args.seed, args.repeats)
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        _print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Model benchmark: Vitae's tagger (float32 and int8 weights) vs a spaCy NER peer on the same split.

    .venv/bin/python -m bench.model [--data-dir ../shared/data] [--spacy-epochs 10] [--json]

All models train on the same training split and are scored on the same held-out split with the
same metric (document-level value F1, :mod:`model_runtime.evaluation`). Vitae trains once with
float32 weights; the int8 model is the same weights quantized (:func:`model_runtime.model_io.
convert_model_dir`, what ``TrainConfig.weights_dtype="int8"`` serves). The peer is a blank English
spaCy pipeline with an ``ner`` component (``pip install spacy``; optional ``bench`` extra).

Also reported per Vitae variant: model size, predictor latency p50/p95 per resume and documents
per second at batch 1 (``predict``) and batch 8 (``predict_batch``), and, measured in a fresh
subprocess, model load time and the predictor's RSS. Only numbers are printed, never document
text. Timings depend on machine load.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from model_runtime.data import LabeledDoc, resolve_overlaps
from model_runtime.entities import LABELS, Entity, Prediction
from model_runtime.evaluation import evaluation_report
from model_runtime.model_io import MODEL_FILE, convert_model_dir
from model_runtime.predictor import ResumePredictor
from model_runtime.training import TrainConfig, load_corpus, train_model

BATCH = 8


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


def _timed_batches(predictor: ResumePredictor, docs: Sequence[LabeledDoc], repeats: int) -> dict[str, float]:
    """``predict_batch`` over batches of :data:`BATCH`; latency is per resume (batch time / size)."""
    texts = [d.text for d in docs]
    per_doc: list[float] = []
    n_docs = 0
    t0 = time.perf_counter()
    for _ in range(repeats):
        for i in range(0, len(texts), BATCH):
            chunk = texts[i : i + BATCH]
            t = time.perf_counter()
            predictor.predict_batch(chunk)
            per_doc.append((time.perf_counter() - t) * 1000 / len(chunk))
            n_docs += len(chunk)
    total = time.perf_counter() - t0
    return {
        "p50_ms": round(_percentile(per_doc, 0.5), 1),
        "p95_ms": round(_percentile(per_doc, 0.95), 1),
        "docs_per_s": round(n_docs / total, 1) if total else 0.0,
    }


# Run in a fresh interpreter so load time and RSS belong to the predictor alone (no training,
# no spaCy): import, load, predict every text once, report.
_PROBE = """
import json, sys, time
t0 = time.perf_counter()
from model_runtime.predictor import ResumePredictor
t1 = time.perf_counter()
def rss_mb(key="VmRSS:"):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return 0.0
base = rss_mb()
p = ResumePredictor.load(sys.argv[1], name="probe", version="0")
t2 = time.perf_counter()
loaded = rss_mb()
for text in json.load(open(sys.argv[2])):
    p.predict(text)
print(json.dumps({
    "import_seconds": round(t1 - t0, 3),
    "load_seconds": round(t2 - t1, 3),
    "rss_before_load_mb": round(base, 1),
    "rss_loaded_mb": round(loaded, 1),
    "rss_after_predict_mb": round(rss_mb(), 1),
    "max_rss_mb": round(rss_mb("VmHWM:"), 1),  # peak of this process (ru_maxrss keeps the parent's)
}))
"""


def _probe(model_dir: Path, texts_file: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, str(model_dir), str(texts_file)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _variant(model_dir: Path, docs: Sequence[LabeledDoc], repeats: int, texts_file: Path) -> dict[str, Any]:
    predictor = ResumePredictor.load(model_dir, name="vitae", version="bench")
    predictor.predict("warm up")
    return {
        "weights_dtype": predictor.metadata.get("weights_dtype", "float32"),
        "model_bytes": (model_dir / MODEL_FILE).stat().st_size,
        "report": evaluation_report(predictor, docs),
        "batch1": _timed_predictions(predictor, docs, repeats),
        f"batch{BATCH}": _timed_batches(predictor, docs, repeats),
        "process": _probe(model_dir, texts_file),
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
    config = replace(TrainConfig(), weights_dtype="float32")
    train_docs, _extra, test_docs, source, _stats, _skills = load_corpus(data_dir, config, seed)
    out: dict[str, Any] = {"data_source": source, "n_train": len(train_docs), "n_test": len(test_docs)}
    with tempfile.TemporaryDirectory(prefix="vitae-bench-") as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps([d.text for d in test_docs]), encoding="utf-8")
        t0 = time.perf_counter()
        result = train_model(Path(tmp) / "fp32", data_dir=data_dir, seed=seed, config=config)
        out["vitae_train_seconds"] = round(time.perf_counter() - t0, 1)
        int8_dir = convert_model_dir(result.model_dir, Path(tmp) / "int8", "int8")
        out["vitae"] = _variant(result.model_dir, test_docs, repeats, texts_file)
        out["vitae_int8"] = _variant(int8_dir, test_docs, repeats, texts_file)
        fp32 = ResumePredictor.load(result.model_dir, name="a", version="0")
        int8 = ResumePredictor.load(int8_dir, name="b", version="0")
        same = sum(
            [(e.label, e.start, e.end) for e in fp32.predict(d.text).entities]
            == [(e.label, e.start, e.end) for e in int8.predict(d.text).entities]
            for d in test_docs
        )
        out["int8_identical_docs"] = same
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
        "batch1": _timed_predictions(peer, test_docs, repeats),
    }
    return out


def _print(out: dict[str, Any]) -> None:
    v, q, s = out["vitae"], out["vitae_int8"], out.get("spacy", {})
    print(f"held-out split: {out['n_test']} docs (trained on {out['n_train']}, {out['data_source']})")
    has_peer = "report" in s
    head = f"{'label':<20} {'support':>7} {'fp32 F1':>8} {'int8 F1':>8}" + (f" {'spaCy F1':>9}" if has_peer else "")
    print(head)
    rows = [*v["report"]["labels"].items(), ("micro", v["report"]["micro"])]
    for label, row in rows:
        other = q["report"]["micro"] if label == "micro" else q["report"]["labels"].get(label, {"f1": 0.0})
        line = f"{label:<20} {row['support']:>7} {row['f1']:>8.3f} {other['f1']:>8.3f}"
        if has_peer:
            peer = s["report"]["micro"] if label == "micro" else s["report"]["labels"].get(label)
            line += f" {peer['f1']:>9.3f}" if peer else f" {'-':>9}"
        print(line)
    print(f"int8 vs fp32: identical entities on {out['int8_identical_docs']}/{out['n_test']} held-out docs")
    for name, r in (("vitae fp32", v), ("vitae int8", q)):
        b1, b8, proc = r["batch1"], r[f"batch{BATCH}"], r["process"]
        print(
            f"{name}: {r['model_bytes'] / 1e6:.1f} MB; batch 1: p50 {b1['p50_ms']} ms p95 {b1['p95_ms']} ms "
            f"{b1['docs_per_s']} docs/s; batch {BATCH}: p50 {b8['p50_ms']} ms/doc p95 {b8['p95_ms']} ms/doc "
            f"{b8['docs_per_s']} docs/s; load {proc['load_seconds']} s (import {proc['import_seconds']} s); "
            f"RSS {proc['rss_loaded_mb']} MB loaded, {proc['max_rss_mb']} MB peak after predicting"
        )
    print(f"vitae train: {out['vitae_train_seconds']} s")
    if has_peer:
        b1 = s["batch1"]
        print(
            f"spaCy {s['version']}: batch 1: p50 {b1['p50_ms']} ms p95 {b1['p95_ms']} ms {b1['docs_per_s']} docs/s, "
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

"""Evaluation reports: document-level value F1 of a predictor on labelled documents.

Per document and label the predicted and gold entity texts are normalised
(:func:`model_runtime.text.normalize_value`) into sets; true positives are the values in both.
Only labels a document is annotated for count. Reports hold numbers only, never document text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from .data import LabeledDoc, RepairStats, load_dataturks, spans_to_values
from .entities import LABELS, Prediction
from .metrics import Counts, ValueF1
from .text import normalize_value


class _Predicts(Protocol):
    def predict(self, text: str) -> Prediction: ...


def score_documents(predictor: _Predicts, docs: Sequence[LabeledDoc]) -> ValueF1:
    scores = ValueF1()
    for doc in docs:
        gold = spans_to_values(doc.text, doc.spans)
        pred: dict[str, set[str]] = {}
        for ent in predictor.predict(doc.text).entities:
            value = normalize_value(ent.text, ent.label)
            if value:
                pred.setdefault(ent.label, set()).add(value)
        scores.add(gold, pred, [label for label in LABELS if label in doc.annotated])
    return scores


def _row(c: Counts) -> dict[str, Any]:
    p, r, f = c.prf()
    return {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(f, 4),
        "support": c.tp + c.fn,
        "tp": c.tp,
        "fp": c.fp,
        "fn": c.fn,
    }


def report_from_scores(scores: ValueF1) -> dict[str, Any]:
    """``{"labels": {LABEL: {precision, recall, f1, support, tp, fp, fn}}, "micro": {...}}``."""
    order = {label: i for i, label in enumerate(LABELS)}
    labels = {
        label: _row(scores.per_label[label])
        for label in sorted(scores.per_label, key=lambda lb: (order.get(lb, 99), lb))
    }
    return {"labels": labels, "micro": _row(scores.micro())}


def evaluation_report(predictor: _Predicts, docs: Sequence[LabeledDoc]) -> dict[str, Any]:
    report = report_from_scores(score_documents(predictor, docs))
    report["documents"] = len(docs)
    return report


def load_eval_docs(path: Path) -> tuple[list[LabeledDoc], dict[str, int]]:
    """DataTurks-format documents (offsets repaired; no label propagation: gold as annotated)."""
    stats = RepairStats()
    docs = load_dataturks(Path(path), stats, propagate_labels=False)
    return docs, stats.as_dict()

"""Document-level value F1: per document and label, compare sets of normalised entity texts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def prf(self) -> tuple[float, float, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f


@dataclass
class ValueF1:
    per_label: dict[str, Counts] = field(default_factory=dict)

    def add(
        self,
        gold: Mapping[str, set[str]],
        pred: Mapping[str, set[str]],
        labels: Iterable[str],
    ) -> None:
        for label in labels:
            g = gold.get(label, set())
            p = pred.get(label, set())
            c = self.per_label.setdefault(label, Counts())
            c.tp += len(g & p)
            c.fp += len(p - g)
            c.fn += len(g - p)

    def micro(self) -> Counts:
        total = Counts()
        for c in self.per_label.values():
            total.tp += c.tp
            total.fp += c.fp
            total.fn += c.fn
        return total

    def as_metrics(self, prefix: str = "") -> dict[str, float]:
        out: dict[str, float] = {}
        for label, c in sorted(self.per_label.items()):
            p, r, f = c.prf()
            out[f"{prefix}f1_{label}"] = round(f, 4)
            out[f"{prefix}precision_{label}"] = round(p, 4)
            out[f"{prefix}recall_{label}"] = round(r, 4)
            out[f"{prefix}support_{label}"] = float(c.tp + c.fn)
        p, r, f = self.micro().prf()
        out[f"{prefix}f1_micro"] = round(f, 4)
        out[f"{prefix}precision_micro"] = round(p, 4)
        out[f"{prefix}recall_micro"] = round(r, 4)
        return out

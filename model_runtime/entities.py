"""Entity types shared by the predictor, the rules and the result structuring."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Canonical labels, in a stable order (used for reporting and for the model's tag list).
LABELS: tuple[str, ...] = (
    "NAME",
    "EMAIL",
    "PHONE",
    "LINK",
    "LOCATION",
    "DESIGNATION",
    "COMPANY",
    "DEGREE",
    "COLLEGE",
    "GRADUATION_YEAR",
    "YEARS_OF_EXPERIENCE",
    "SKILL",
)

# Labels produced by deterministic extractors; for these the rules win over the model.
RULE_LABELS: frozenset[str] = frozenset({"EMAIL", "PHONE", "LINK"})

# Labels the statistical tagger learns.
MODEL_LABELS: tuple[str, ...] = tuple(label for label in LABELS if label not in RULE_LABELS)


@dataclass(frozen=True, slots=True)
class Entity:
    label: str
    text: str
    start: int  # char offset into the input text
    end: int  # exclusive
    line: int  # 1-based line number of ``start``
    confidence: float  # 0..1
    source: str  # "model" or "rule"

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "line": self.line,
            "confidence": round(float(self.confidence), 4),
            "source": self.source,
        }


@dataclass(frozen=True)
class Prediction:
    model_name: str
    model_version: str
    entities: list[Entity] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "modelName": self.model_name,
            "modelVersion": self.model_version,
            "entities": [entity.to_dict() for entity in self.entities],
        }

"""Inference: features (Python) -> emissions (onnxruntime) -> constrained Viterbi -> entities.

Only numpy and onnxruntime are needed at run time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .data import split_skill_block
from .decode import tags_to_spans, transition_mask, viterbi
from .entities import RULE_LABELS, Entity, Prediction
from .features import FeatureConfig, FeatureExtractor
from .model_io import INPUT_NAME, MODEL_FILE, read_metadata, sha256_file
from .rules import find_graduation_years, find_rule_entities
from .text import Document, tokenize

_EDGE_PUNCT = set(",;:|•●▪■◦·*-–—()[]{}\"'`.!?/\\")


def _softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


class ResumePredictor:
    """A loaded model version. ``predict`` is thread-safe (no mutable state after load)."""

    def __init__(
        self,
        model_dir: Path,
        metadata: dict[str, Any],
        session: Any,
        *,
        name: str,
        version: str,
    ) -> None:
        self.model_dir = model_dir
        self.metadata = metadata
        self.name = name
        self.version = version
        self._session = session
        self.tags: list[str] = list(metadata["tags"])
        mask_t, mask_s = transition_mask(self.tags)
        self._trans = np.asarray(metadata["transitions"], dtype=np.float32) + mask_t
        self._start = np.asarray(metadata["start"], dtype=np.float32) + mask_s
        self._temperature = float(metadata.get("temperature", 1.0))
        self._features = FeatureExtractor(FeatureConfig.from_json(metadata["feature_config"]))

    @classmethod
    def load(cls, model_dir: Path, *, name: str, version: str, threads: int = 1) -> ResumePredictor:
        import onnxruntime as ort

        model_dir = Path(model_dir)
        metadata = read_metadata(model_dir)
        expected = metadata.get("model_sha256")
        if expected and sha256_file(model_dir / MODEL_FILE) != expected:
            raise ValueError(f"{model_dir / MODEL_FILE} does not match its recorded sha256")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        session = ort.InferenceSession(
            str(model_dir / MODEL_FILE),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )
        return cls(model_dir, metadata, session, name=name, version=version)

    # -- pieces, also used by evaluation ---------------------------------------------------------
    def emissions(self, doc: Document) -> np.ndarray:
        feats = self._features.features(doc)
        if feats.shape[0] == 0:
            return np.zeros((0, len(self.tags)), dtype=np.float32)
        out = self._session.run(None, {INPUT_NAME: feats})[0]
        return np.asarray(out, dtype=np.float32)

    def model_entities(self, text: str, doc: Document | None = None) -> list[Entity]:
        doc = doc or tokenize(text)
        em = self.emissions(doc)
        if em.shape[0] == 0:
            return []
        path = viterbi(em, self._trans, self._start)
        probs = _softmax(em / self._temperature)
        tokens = doc.tokens
        out: list[Entity] = []
        for label, a, b in tags_to_spans(path, self.tags):
            if label in RULE_LABELS:
                continue
            # Trim punctuation-only edge tokens ("Java ," -> "Java").
            while a < b and tokens[a].text in _EDGE_PUNCT:
                a += 1
            while b > a and tokens[b - 1].text in _EDGE_PUNCT:
                b -= 1
            if a >= b:
                continue
            start, end = tokens[a].start, tokens[b - 1].end
            conf = float(probs[np.arange(a, b), path[a:b]].mean())
            # A skill span over a list ("Java, Python, SQL") is one skill per item, as in training.
            pieces = split_skill_block(text, start, end) if label == "SKILL" else [(start, end)]
            for s, e in pieces:
                out.append(
                    Entity(
                        label=label,
                        text=text[s:e],
                        start=s,
                        end=e,
                        line=doc.line_of(s) + 1,
                        confidence=conf,
                        source="model",
                    )
                )
        return out

    @staticmethod
    def _graduation_years(
        text: str, doc: Document, entities: list[Entity], taken: list[tuple[int, int]]
    ) -> list[Entity]:
        """Graduation years by rule: years next to the predicted degrees and colleges.

        When the rule finds any, they replace the tagger's GRADUATION_YEAR spans (5-fold CV F1
        0.14 -> 0.50, ``python -m model_runtime.cv``); otherwise the tagger's are kept.
        """
        anchors = [e for e in entities if e.label in ("DEGREE", "COLLEGE")]
        if not anchors:
            return entities
        conf: dict[int, float] = {}
        for anchor in anchors:
            line = anchor.line - 1
            conf[line] = max(conf.get(line, 0.0), anchor.confidence)
        years = [
            (ys, ye)
            for _, ys, ye in find_graduation_years(text, doc.line_starts, set(conf))
            if all(ye <= a or ys >= b for a, b in taken)
        ]
        if not years:
            return entities
        kept = [
            e for e in entities if e.label != "GRADUATION_YEAR" and all(e.end <= s or e.start >= t for s, t in years)
        ]
        for ys, ye in years:
            line = doc.line_of(ys)
            near = max((c for a, c in conf.items() if a <= line <= a + 2), default=0.5)
            kept.append(Entity("GRADUATION_YEAR", text[ys:ye], ys, ye, line + 1, near, "rule"))
        return kept

    def predict(self, text: str) -> Prediction:
        doc = tokenize(text)
        rule_entities = [
            Entity(label, text[s:e], s, e, doc.line_of(s) + 1, 1.0, "rule") for label, s, e in find_rule_entities(text)
        ]
        taken = [(e.start, e.end) for e in rule_entities]
        rule_only = {e.label for e in rule_entities} - RULE_LABELS  # e.g. years of experience
        model_entities = [
            e
            for e in self.model_entities(text, doc)
            if all(e.end <= s or e.start >= t for s, t in taken) and e.label not in rule_only
        ]
        model_entities = self._graduation_years(text, doc, model_entities, taken)
        entities = sorted(rule_entities + model_entities, key=lambda e: (e.start, e.end))
        return Prediction(model_name=self.name, model_version=self.version, entities=entities)

"""Inference: features (Python) -> emissions (onnxruntime) -> constrained Viterbi -> entities,
then the deterministic extractors and the document-level passes (:mod:`.entity_passes`).

Only numpy and onnxruntime are needed at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .data import split_skill_block
from .decode import tags_to_spans, transition_mask, viterbi
from .entities import RULE_LABELS, Entity, Prediction
from .entity_passes import repair_entities
from .features import FeatureConfig, FeatureExtractor
from .model_io import INPUT_NAME, MODEL_FILE, read_metadata, sha256_file
from .rules import find_rule_entities, link_site
from .text import Document, tokenize

# Punctuation-only tokens at a span's edges are no part of it ("Java ," -> "Java").
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
        # Sites whose links the training labels leave unmarked (see :mod:`.link_sites`); older
        # versions have none.
        self._unmarked_link_sites = frozenset(metadata.get("unmarked_link_sites", ()))
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

    def emissions_batch(self, docs: Sequence[Document]) -> list[np.ndarray]:
        """Emissions of several documents from one onnxruntime call (tokens stacked)."""
        feats = [self._features.features(doc) for doc in docs]
        sizes = [f.shape[0] for f in feats]
        if not any(sizes):
            return [np.zeros((0, len(self.tags)), dtype=np.float32) for _ in docs]
        stacked = np.concatenate([f for f in feats if f.shape[0]], axis=0)
        out = np.asarray(self._session.run(None, {INPUT_NAME: stacked})[0], dtype=np.float32)
        return list(np.split(out, np.cumsum(sizes)[:-1], axis=0))

    def model_entities(self, text: str, doc: Document | None = None, em: np.ndarray | None = None) -> list[Entity]:
        doc = doc or tokenize(text)
        if em is None:
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

    def predict(self, text: str) -> Prediction:
        return self._predict_doc(text, tokenize(text), None)

    def predict_batch(self, texts: Sequence[str]) -> list[Prediction]:
        """``[predict(t) for t in texts]``, with one onnxruntime call for the whole batch."""
        docs = [tokenize(text) for text in texts]
        ems = self.emissions_batch(docs)
        return [self._predict_doc(text, doc, em) for text, doc, em in zip(texts, docs, ems, strict=True)]

    def _predict_doc(self, text: str, doc: Document, em: np.ndarray | None) -> Prediction:
        found = find_rule_entities(text)
        # An unmarked site's link is no LINK entity, but its text stays taken: the name in
        # "linkedin.com/in/jane-doe" is no NAME either.
        taken = [(s, e) for _, s, e in found]
        rule_entities = [
            Entity(label, text[s:e], s, e, doc.line_of(s) + 1, 1.0, "rule")
            for label, s, e in found
            if label != "LINK" or link_site(text[s:e]) not in self._unmarked_link_sites
        ]
        rule_only = {e.label for e in rule_entities} - RULE_LABELS  # e.g. years of experience
        model_entities = [
            e
            for e in self.model_entities(text, doc, em)
            if all(e.end <= s or e.start >= t for s, t in taken) and e.label not in rule_only
        ]
        model_entities = repair_entities(text, doc, model_entities, taken)
        entities = sorted(rule_entities + model_entities, key=lambda e: (e.start, e.end))
        return Prediction(model_name=self.name, model_version=self.version, entities=entities)
